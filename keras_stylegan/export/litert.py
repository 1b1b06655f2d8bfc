"""A generator as one LiteRT (TensorFlow Lite) flatbuffer with three signatures, for phones and edge devices.

Converted with TensorFlow's own `tf.lite.TFLiteConverter` from a SavedModel of the generator's
serving functions (the ones `export_saved_model` serves), built-in ops only, float32 weights.
Keras' `model.export(format="litert")` is not used: it traces the model's `call` as one
endpoint, while a generator serves three computations (truncation and uint8 pixels included).
"""
import os
import tempfile

import tensorflow as tf

from keras_stylegan.export.saved_model import GeneratorFunctions, check_generator, check_image_dtype
from keras_stylegan.utils.files import atomic_path

# As in ONNX export, `seeds` is left out: its in-graph MT19937 needs 64-bit bit operations that
# LiteRT's built-in ops lack. Draw z with NumPy instead (`sampling.seeds_to_z`).
LITERT_SIGNATURES = ("serving_default", "mapping", "synthesis")


def last_line(error):
    """The last non-empty line of a converter's many-line message (the reason; the rest is its graph dump)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def export_litert(generator, path, image_dtype="uint8", overwrite=False):
    """Writes the generator to `path`, a `.tflite` file with the signatures `serving_default`, `mapping`, `synthesis`.

    Inputs and outputs are named like the SavedModel's signatures: `serving_default` takes `z`
    float32 `[N, z_dim]`, `psi` float32 `[]` (and `labels` int32 `[N]` when conditional) and
    gives `images` `[N, H, W, C]`; `mapping` gives `ws`, `synthesis` takes `ws`. The batch `N` is
    dynamic. Noise is the stored constant maps. The file is written under a temporary name and
    renamed into place once complete.

    Args:
        generator: a `keras_stylegan.Generator`.
        path: the `.tflite` file to write (its folder is created if needed).
        image_dtype: `"uint8"` (as served) or `"float32"` (the raw [-1, 1] images).
        overwrite: replace an existing file at `path`.

    Returns:
        `path`.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> path = export_litert(g, "litert/tiny.tflite")
    >>> from ai_edge_litert.interpreter import Interpreter  # pip install ai-edge-litert
    >>> sorted(Interpreter(model_path=path).get_signature_list())
    ['mapping', 'serving_default', 'synthesis']
    """
    from keras.export import ExportArchive

    check_generator(generator)
    check_image_dtype(image_dtype)
    path = os.fspath(path)
    if not path.endswith(".tflite"):
        raise ValueError(f"the LiteRT output must be a file name ending in .tflite. Received: {path!r}")
    if os.path.isdir(path) or (os.path.lexists(path) and not overwrite):
        raise ValueError(f"{path} already exists: pass another path or overwrite=True (--overwrite)")
    archive = ExportArchive()
    signatures = GeneratorFunctions(generator).signatures(image_dtype)
    for name in LITERT_SIGNATURES:
        function, input_signature = signatures[name]
        archive.add_endpoint(name, function, input_signature=input_signature)
    with tempfile.TemporaryDirectory(prefix="kstylegan-litert-") as saved_model:
        archive.write_out(saved_model, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=list(LITERT_SIGNATURES))
        try:
            flatbuffer = converter.convert()
        except Exception as error:  # TensorFlow's ConverterError (a private class) with the MLIR dump
            raise ValueError(f"LiteRT cannot convert this generator: {last_line(error)}") from None
    try:  # a file the runtime would refuse is not written (StyleGAN3's graphs convert but do not load)
        _interpreter_class()(model_content=flatbuffer)
    except ValueError as error:
        raise ValueError(f"LiteRT cannot load the converted generator: {last_line(error)}") from None
    with atomic_path(path, suffix=".tflite") as tmp, open(tmp, "wb") as f:
        f.write(flatbuffer)
    return path


def _interpreter_class():
    """LiteRT's own interpreter when installed; TensorFlow's deprecated copy (which warns) otherwise."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import warnings

        from tensorflow.lite.python.interpreter import Interpreter as TensorFlowInterpreter

        def Interpreter(**kwargs):  # noqa: N802 (stands for the class)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return TensorFlowInterpreter(**kwargs)

    return Interpreter
