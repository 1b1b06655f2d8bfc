"""A generator as ONNX models, converted with tf2onnx (the `onnx` extra: `pip install keras-stylegan[onnx]`)."""
import contextlib
import os

import tensorflow as tf

from keras_stylegan.export.saved_model import GeneratorFunctions, check_generator, check_image_dtype
from keras_stylegan.utils.files import atomic_path

# The SavedModel's `seeds` signature is left out: its in-graph MT19937 needs 64-bit integer shifts
# that ONNX's BitShift (unsigned only) does not offer. Draw z with NumPy instead (`sampling.seeds_to_z`).
ONNX_SIGNATURES = {"serving_default": "generator", "mapping": "mapping", "synthesis": "synthesis"}


def export_onnx(generator, directory, image_dtype="uint8", opset=17, overwrite=False):
    """Writes `generator.onnx`, `mapping.onnx` and `synthesis.onnx` into `directory`.

    Their inputs and outputs are named like the SavedModel's signatures of the same role
    (`generator.onnx` is `serving_default`: `z`, `psi` (a 0-d float32 array), and `labels` when
    conditional, to `images`). Noise is the stored constant maps.

    Args:
        generator: a `keras_stylegan.Generator`.
        directory: folder to write into (created if needed).
        image_dtype: `"uint8"` (as served) or `"float32"` (the raw [-1, 1] images).
        opset: ONNX opset version.
        overwrite: replace existing `.onnx` files of these names.

    The three files are written under temporary names and renamed into place together once all
    are complete: a failed export leaves the previous files (if any) untouched.

    Returns:
        `{"generator": path, "mapping": path, "synthesis": path}`.

    Example:
    >>> paths = export_onnx(generator, "onnx/")  # doctest: +SKIP
    >>> session = onnxruntime.InferenceSession(paths["generator"])  # doctest: +SKIP
    >>> session.run(None, {"z": z, "psi": np.array(0.7, "float32")})[0].shape  # doctest: +SKIP
    (1, 1024, 1024, 3)
    """
    check_generator(generator)
    check_image_dtype(image_dtype)
    try:
        import tf2onnx
    except ImportError:
        raise ImportError("ONNX export needs tf2onnx and onnxruntime: pip install 'keras-stylegan[onnx]'") from None
    directory = os.fspath(directory)
    paths = {name: os.path.join(directory, f"{name}.onnx") for name in ONNX_SIGNATURES.values()}
    for path in paths.values():
        if os.path.isdir(path) or (os.path.lexists(path) and not overwrite):
            raise ValueError(f"{path} already exists: pass another directory or overwrite=True (--overwrite)")
    os.makedirs(directory, exist_ok=True)
    signatures = GeneratorFunctions(generator).signatures(image_dtype)
    with contextlib.ExitStack() as pending:  # all renamed into place at the end, or none
        for signature, name in ONNX_SIGNATURES.items():
            function, input_signature = signatures[signature]
            tmp = pending.enter_context(atomic_path(paths[name], suffix=".onnx"))
            traced = tf.function(function, input_signature=input_signature)
            tf2onnx.convert.from_function(traced, input_signature, opset=opset, output_path=tmp)
    return paths
