"""Image-quality metrics: FID, KID, precision/recall, PPL and SWD, with NVIDIA's names; pixel diversity.

The statistics (`fid`, `kid`, `precision_recall`, `swd`) are NumPy only and work on any
features; `features.InceptionFeatures` (Keras' InceptionV3) and the PPL distance (VGG16) need
TensorFlow. FID/KID/PR/PPL numbers computed with these networks are NOT comparable with NVIDIA's
published tables (other weights); SWD has no network.
"""
from keras_stylegan.metrics.diversity import pixel_diversity
from keras_stylegan.metrics.evaluate import METRICS, compute_metrics
from keras_stylegan.metrics.features import InceptionFeatures
from keras_stylegan.metrics.fid import feature_statistics, frechet_distance, frechet_inception_distance
from keras_stylegan.metrics.kid import kernel_inception_distance
from keras_stylegan.metrics.ppl import perceptual_pair_distance, perceptual_path_length
from keras_stylegan.metrics.precision_recall import precision_recall
from keras_stylegan.metrics.swd import laplacian_pyramid, sliced_wasserstein_distance


__all__ = ["InceptionFeatures", "METRICS", "compute_metrics", "feature_statistics", "frechet_distance",
           "frechet_inception_distance", "kernel_inception_distance", "laplacian_pyramid",
           "perceptual_pair_distance", "perceptual_path_length", "pixel_diversity", "precision_recall",
           "sliced_wasserstein_distance"]
