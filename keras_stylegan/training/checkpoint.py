"""Training checkpoints: every variable of a `StyleGAN` in one HDF5 file, written atomically.

The file is built in memory, written under a temporary name in the same directory with plain
file I/O, flushed to disk and renamed over the old checkpoint, so a run killed at any moment
leaves either the previous checkpoint or the new one, never a half-written file under the
checkpoint's name; a full disk is an ordinary `OSError` that leaves the previous checkpoint
intact and no temporary file behind.
"""
import json

import numpy as np

from keras_stylegan.utils.files import hdf5_bytes, load_hdf5_variables, write_bytes

CHECKPOINT_FILE = "checkpoint.h5"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not match the model."""


def save_checkpoint(path, gan, metadata=None):
    """Writes `gan.state_variables()` (and a JSON `metadata` dict) to `path` atomically.

    Example:
    >>> from keras_stylegan.training import StyleGAN
    >>> gan = StyleGAN(Generator(resolution=8, z_dim=8, w_dim=8, channel_base=32, channel_max=8, mapping_layers=2),
    ...                Discriminator(resolution=8, channel_base=32, channel_max=8))
    >>> gan.compile()
    >>> save_checkpoint("checkpoint.h5", gan, {"kimg": 12.0})
    >>> load_checkpoint("checkpoint.h5", gan)["kimg"]
    12.0
    """
    datasets = {name: np.asarray(variable.numpy()) for name, variable in gan.state_variables().items()}
    write_bytes(path, hdf5_bytes(datasets, {"metadata": json.dumps(metadata or {})}))


def load_checkpoint(path, gan):
    """Restores every variable of `gan` from `path`; returns the stored metadata dict.

    Raises `CheckpointError` if the file is unreadable or was written by a different model.
    """
    gan.build_optimizers()
    attrs = load_hdf5_variables(path, gan.state_variables(), CheckpointError, what="checkpoint")
    metadata = json.loads(attrs.get("metadata", "{}"))
    return metadata
