"""A generator as OpenVINO IR models, converted with OpenVINO's own converter (the `openvino` extra).

`ov.convert_model` reads the generator's serving functions (the ones `export_saved_model`
serves) as traced TensorFlow functions; weights are kept float32 (`compress_to_fp16=False`).
Keras' `model.export(format="openvino")` is not used: it traces the model's `call` as one
endpoint, while a generator serves three computations (truncation and uint8 pixels included).
"""
import os

import numpy as np  # noqa: F401 - the docstring example uses it
import tensorflow as tf

from keras_stylegan.export.saved_model import GeneratorFunctions, check_generator, check_image_dtype
from keras_stylegan.utils.files import atomic_directory

# Same roles and names as ONNX export; `seeds` is left out there too (draw z with `sampling.seeds_to_z`).
OPENVINO_SIGNATURES = {"serving_default": "generator", "mapping": "mapping", "synthesis": "synthesis"}
OPENVINO_FILES = tuple(f"{name}.{ext}" for name in OPENVINO_SIGNATURES.values() for ext in ("xml", "bin"))


def export_openvino(generator, directory, image_dtype="uint8", overwrite=False):
    """Writes `generator.xml`, `mapping.xml` and `synthesis.xml` (each with its `.bin`) as the folder `directory`.

    Inputs and outputs are named like the SavedModel's signatures of the same role
    (`generator.xml` is `serving_default`: `z`, `psi` (a 0-d float32 array), and `labels` when
    conditional, to `images`). The batch is dynamic. Noise is the stored constant maps. The folder
    is written under a temporary name and renamed into place once complete; an existing one is
    replaced only with `overwrite=True`, and only if it holds nothing but these files.

    Args:
        generator: a `keras_stylegan.Generator`.
        directory: the folder to write (a new or empty one, or an earlier OpenVINO export).
        image_dtype: `"uint8"` (as served) or `"float32"` (the raw [-1, 1] images).
        overwrite: replace an earlier OpenVINO export in `directory`.

    Returns:
        `{"generator": path, "mapping": path, "synthesis": path}`, the `.xml` files.

    Example:
    >>> g = keras_stylegan.Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> paths = export_openvino(g, "openvino/tiny")
    >>> import openvino
    >>> compiled = openvino.Core().compile_model(paths["generator"], "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    >>> compiled({"z": np.zeros([2, 16], "float32"), "psi": np.array(0.7, "float32")})["images"].shape
    (2, 16, 16, 3)
    """
    from keras_stylegan.utils.files import check_directory_target

    check_generator(generator)
    check_image_dtype(image_dtype)
    try:
        import openvino
    except ImportError:
        raise ImportError("OpenVINO export needs openvino: pip install 'keras-stylegan[openvino]'") from None
    directory = check_directory_target(directory, overwrite, OPENVINO_FILES, ("generator.xml",), "model in OpenVINO IR")
    signatures = GeneratorFunctions(generator).signatures(image_dtype)
    models = {}
    for signature, name in OPENVINO_SIGNATURES.items():  # converted before anything is written
        function, input_signature = signatures[signature]
        traced = tf.function(function, input_signature=input_signature).get_concrete_function()
        try:
            models[name] = model = openvino.convert_model(traced)
        except Exception as error:  # OpenVINO's OpConversionFailure and friends, with a many-line report
            raise ValueError(f"OpenVINO cannot convert this generator: {' '.join(str(error).split())[-300:]}") from None
        for port in list(model.inputs) + list(model.outputs):  # `z:0` (as it sometimes names them) -> `z`
            port.get_tensor().set_names({tensor_name.split(":")[0] for tensor_name in port.get_names()})
    with atomic_directory(directory, overwrite, OPENVINO_FILES, ("generator.xml",), "model in OpenVINO IR") as tmp:
        for name, model in models.items():
            openvino.save_model(model, os.path.join(tmp, f"{name}.xml"), compress_to_fp16=False)
    return {name: os.path.join(directory, f"{name}.xml") for name in OPENVINO_SIGNATURES.values()}
