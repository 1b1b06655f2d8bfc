"""Serving formats: a TensorFlow Serving SavedModel (`export_saved_model`), ONNX (`export_onnx`),
LiteRT (`export_litert`) and OpenVINO IR (`export_openvino`).

Example:
>>> path = export_saved_model(generator, "served/ffhq")  # doctest: +SKIP
>>> paths = export_onnx(generator, "onnx/ffhq")  # doctest: +SKIP
"""
from keras_stylegan.export.numpy_random import randn_from_seeds
from keras_stylegan.export.litert import export_litert
from keras_stylegan.export.onnx import export_onnx
from keras_stylegan.export.openvino import export_openvino
from keras_stylegan.export.saved_model import GeneratorFunctions, export_saved_model

__all__ = [
    "GeneratorFunctions", "export_litert", "export_onnx", "export_openvino", "export_saved_model", "randn_from_seeds",
]
