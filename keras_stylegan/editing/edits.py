"""Editing: move a w along a direction, on chosen style layers only, and render the strip.

Changing only some layers' ws is what style mixing does (Karras et al. 2019): coarse layers
(4-8 px) hold pose and shape, fine ones colour and texture, so a direction applied to a
subset edits that aspect alone (as SeFa and InterFaceGAN do for layer-wise editing).
"""
import os

import numpy as np

from keras_stylegan.editing.directions import parse_layers
from keras_stylegan.sampling import synthesize


def _one_w(generator, w):
    """`[w_dim]`, `[1, w_dim]`, `[num_ws, w_dim]` or `[1, num_ws, w_dim]` -> float32 `[num_ws, w_dim]`."""
    array = np.asarray(w, np.float32)
    shape = array.shape
    array = array.reshape(shape[1:]) if array.ndim in (2, 3) and shape[0] == 1 else array
    if array.ndim == 1:
        array = np.tile(array, (generator.num_ws, 1))
    if array.shape != (generator.num_ws, generator.w_dim) or not np.all(np.isfinite(array)):
        raise ValueError(f"`w` must be one finite latent [w_dim] or [num_ws, w_dim] = [{generator.num_ws}, "
                         f"{generator.w_dim}] (a leading 1 allowed). Received shape: {shape}")
    return array


def edit(generator, w, direction, strengths, layers=None, noise_mode="const", batch_size=8):
    """Images of `w + strength * direction` for each strength, the direction added on `layers` only.

    Args:
        generator: a `keras_stylegan.Generator`.
        w: one latent: `[w_dim]` (W) or `[num_ws, w_dim]` (W+), a leading batch axis of 1 allowed
            (e.g. `projected_w.npz`'s `w`).
        direction: `[w_dim]`; scaled to unit length, so strengths are distances in W.
        strengths: the strengths (0 gives the unedited image, bit for bit).
        layers: style layers (w indices) to edit (see `parse_layers`; `None`: all).
        noise_mode: `"const"`, `"random"` or `"none"`.
        batch_size: images per forward pass.

    Returns:
        uint8 `[len(strengths), H, W, C]` (tile with `sampling.image_grid(images, cols=len(images))`).

    Example:
    >>> g = Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> edit(g, np.zeros(16), np.eye(16)[0], [-3, 0, 3], layers="0-2").shape
    (3, 16, 16, 3)
    """
    w = _one_w(generator, w)
    direction = np.asarray(direction, np.float32)
    norm = float(np.linalg.norm(direction)) if direction.shape == (generator.w_dim,) else 0.0
    if not (np.isfinite(norm) and norm > 0):
        raise ValueError(f"`direction` must be a finite non-zero [w_dim] = [{generator.w_dim}] vector. "
                         f"Received shape: {direction.shape}")
    strengths = np.asarray(strengths, np.float32).reshape(-1)
    if strengths.size == 0 or not np.all(np.isfinite(strengths)):
        raise ValueError(f"`strengths` must be one or more finite numbers. Received: {strengths.tolist()}")
    edited = np.zeros([generator.num_ws, 1], bool)
    edited[parse_layers(layers, generator)] = True
    step = (direction / norm)[None, None, :] * strengths[:, None, None]
    ws = np.where(edited[None], w[None] + step, w[None])  # other layers keep w exactly
    return synthesize(generator, ws, noise_mode=noise_mode, batch_size=batch_size)


MAX_STRENGTH = 1e6  # a distance in W; edits use a few units


def parse_strengths(text, steps):
    """`"-3,3"` with `steps` 7 -> 7 strengths from -3 to 3; one number gives `[-s, s]` spread over `steps`.

    Example:
    >>> parse_strengths("-3,3", 7).tolist()
    [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
    """
    try:
        values = [float(v) for v in str(text).replace(" ", "").split(",")]
    except ValueError:
        raise ValueError(f"strength must be 'MIN,MAX' or one number S (for -S,S). Received: {text!r}") from None
    if len(values) == 1:
        values = [-abs(values[0]), abs(values[0])]
    if len(values) != 2 or not np.all(np.isfinite(values)):
        raise ValueError(f"strength must be 'MIN,MAX' or one number S (for -S,S). Received: {text!r}")
    if max(abs(v) for v in values) > MAX_STRENGTH:  # beyond this the float32 ws overflow (and warn) before failing
        raise ValueError(f"strength must lie within ±{MAX_STRENGTH:g}. Received: {text!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an int >= 1. Received: {steps!r}")
    return np.linspace(values[0], values[1], steps) if steps > 1 else np.array([values[0]])


def load_direction(spec):
    """One direction from `"dirs.npz:K"` (row K of its `directions`; `":K"` defaults to 0).

    Example:
    >>> direction = load_direction("dirs.npz:2")  # doctest: +SKIP
    """
    path, index = os.fspath(spec), "0"
    if ":" in path and not path.lower().endswith(".npz"):
        path, _, index = path.rpartition(":")
    if not path.lower().endswith(".npz") or not index.isdigit():
        raise ValueError(f"direction must be FILE.npz or FILE.npz:INDEX. Received: {spec!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"direction file not found: {path}")
    with np.load(path, allow_pickle=False) as data:
        if "directions" not in data.files:
            raise ValueError(f"{path} has no 'directions' array (found: {data.files})")
        directions = np.asarray(data["directions"], np.float32)
    if directions.ndim != 2 or not 0 <= int(index) < len(directions):
        raise ValueError(f"direction index {index} is out of range: {path} holds {len(directions)} "
                         f"directions of shape {directions.shape[1:]}")
    return directions[int(index)]


__all__ = ["edit", "load_direction", "parse_strengths"]
