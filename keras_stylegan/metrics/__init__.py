"""Image-quality metrics. `swd`: sliced Wasserstein distance (ProGAN), NumPy only."""
from keras_stylegan.metrics.swd import laplacian_pyramid, sliced_wasserstein_distance

__all__ = ["laplacian_pyramid", "sliced_wasserstein_distance"]
