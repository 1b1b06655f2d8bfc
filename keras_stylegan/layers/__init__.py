"""StyleGAN building blocks, each a Keras-serializable layer."""
from keras_stylegan.layers.constant import ConstantInput
from keras_stylegan.layers.equalized import EqualizedConv2D, EqualizedDense, bias_act, conv2d_resample
from keras_stylegan.layers.minibatch_stddev import MinibatchStdDev
from keras_stylegan.layers.modulation import AdaIN, ModulatedConv2D, instance_norm, modulated_conv2d
from keras_stylegan.layers.noise import NOISE_MODES, NoiseInjection
from keras_stylegan.layers.normalization import PixelNormalization, normalize_2nd_moment
from keras_stylegan.layers.rgb import FromRGB, ToRGB
from keras_stylegan.layers.upfirdn import FirResample, downsample2d, setup_filter, upfirdn2d, upsample2d

__all__ = [
    "AdaIN",
    "bias_act",
    "ConstantInput",
    "conv2d_resample",
    "downsample2d",
    "EqualizedConv2D",
    "EqualizedDense",
    "FirResample",
    "FromRGB",
    "instance_norm",
    "MinibatchStdDev",
    "modulated_conv2d",
    "ModulatedConv2D",
    "NOISE_MODES",
    "NoiseInjection",
    "normalize_2nd_moment",
    "PixelNormalization",
    "setup_filter",
    "ToRGB",
    "upfirdn2d",
    "upsample2d",
]
