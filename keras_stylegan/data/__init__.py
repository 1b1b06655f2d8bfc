"""Image data: folders, zips and arrays decoded with Pillow, fed to `tf.data`.

`read_images` and `scan_source` need only NumPy and Pillow; `image_dataset` and
`training_stream` load TensorFlow when first used.
"""
from keras_stylegan.data.images import ImageInfo, SourceListing, convert_channels, read_images, scan_source


def __getattr__(name):
    if name in ("image_dataset", "training_stream"):
        from keras_stylegan.data import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'keras_stylegan.data' has no attribute {name!r}")


__all__ = ["ImageInfo", "SourceListing", "convert_channels", "image_dataset", "read_images", "scan_source",
           "training_stream"]
