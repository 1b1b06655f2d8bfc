"""The model zoo: cards for NVIDIA's published models, plugins, download, safe conversion.

Example:
>>> from keras_stylegan import zoo
>>> "stylegan2-ffhq-1024" in zoo.list()
True
>>> zoo.get_card("ffhq").resolution
'1024x1024'
"""
from keras_stylegan.zoo.api import load
from keras_stylegan.zoo.registry import ENTRY_POINT_GROUP, ModelCard, Registry, get_card, list_cards, register, unregister

list = list_cards  # noqa: A001 - `zoo.list()` reads naturally; the builtin is not used here

__all__ = ["ENTRY_POINT_GROUP", "ModelCard", "Registry", "get_card", "list", "list_cards", "load", "register",
           "unregister"]
