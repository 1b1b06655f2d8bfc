"""Mapping, synthesis, discriminator and generator networks."""
from keras_stylegan.networks.discriminator import Discriminator, DiscriminatorBlock, DiscriminatorEpilogue
from keras_stylegan.networks.generator import Generator
from keras_stylegan.networks.mapping import MappingNetwork
from keras_stylegan.networks.synthesis import ModulatedLayer, StyleLayer, SynthesisBlock, SynthesisNetwork

__all__ = [
    "Discriminator",
    "DiscriminatorBlock",
    "DiscriminatorEpilogue",
    "Generator",
    "MappingNetwork",
    "ModulatedLayer",
    "StyleLayer",
    "SynthesisBlock",
    "SynthesisNetwork",
]
