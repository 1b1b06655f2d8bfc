"""Training: the StyleGAN keras.Model, losses, augmentation, runs (TensorFlow code lives here)."""
from keras_stylegan.training.run import train
from keras_stylegan.training.stylegan import StyleGAN

__all__ = ["StyleGAN", "train"]
