"""Projection of real images into a generator's W or W+ space (NVIDIA's projector schedule).

Example:
>>> result = project(generator, "photo.png", num_steps=1000)  # doctest: +SKIP
>>> result.ws.shape  # doctest: +SKIP
(1, 18, 512)
"""
from keras_stylegan.projection.projector import PerceptualDistance, Projection, project, read_target

__all__ = ["PerceptualDistance", "Projection", "project", "read_target"]
