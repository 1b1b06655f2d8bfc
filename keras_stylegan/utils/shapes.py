"""Resolution parsing shared by networks, data and the CLI.

Resolutions are stored as `(height, width)`. A square size may be given as one int; a
string `"WxH"` is read as width x height, the way image sizes are usually written
(`"512x384"` is 512 wide, 384 high).
"""
import math

MAX_ASPECT = 4  # the base shape's short side is at least 1 pixel when the long side is 4


def _is_power_of_two(n):
    return isinstance(n, int) and n >= 1 and (n & (n - 1)) == 0


def parse_resolution(resolution, name="resolution", minimum=4):
    """Returns `(height, width)` from an int, an `(h, w)` pair or a `"WxH"` string."""
    value = resolution
    if isinstance(value, str):
        text = value.lower().strip()
        try:
            if "x" in text:
                width, height = (int(p) for p in text.split("x"))
            else:
                width = height = int(text)
        except ValueError:
            raise ValueError(
                f"`{name}` must be an int, (height, width) or 'WxH'. Received: {resolution!r}"
            ) from None
        value = (height, width)
    elif isinstance(value, (int,)) and not isinstance(value, bool):
        value = (value, value)
    try:
        height, width = (int(v) for v in value)
        if (height, width) != tuple(value):
            raise TypeError
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be an int, (height, width) or 'WxH'. Received: {resolution!r}"
        ) from None
    if not (_is_power_of_two(height) and _is_power_of_two(width)):
        raise ValueError(f"`{name}` must be a power of two on each side. Received: {resolution!r}")
    if max(height, width) < minimum:
        raise ValueError(f"`{name}` must be at least {minimum} on its long side. Received: {resolution!r}")
    if max(height, width) > MAX_ASPECT * min(height, width):
        raise ValueError(
            f"`{name}` aspect ratio must be at most {MAX_ASPECT}:1. Received: {resolution!r}"
        )
    return height, width


def format_resolution(shape):
    """`(height, width)` -> `"WxH"`."""
    height, width = shape
    return f"{width}x{height}"


def block_shapes(resolution, base=4):
    """The (height, width) of every block, smallest first: 4x4, 8x8, ... up to `resolution`.

    For a non-square resolution the long side starts at `base` and the short side at
    `base * short / long` (e.g. 64x32 starts at 4x2).
    """
    height, width = resolution
    num_blocks = int(math.log2(max(height, width))) - int(math.log2(base)) + 1
    shapes = []
    for i in range(num_blocks):
        scale = 2 ** (num_blocks - 1 - i)
        shapes.append((height // scale, width // scale))
    return shapes


def block_name(shape):
    """NVIDIA names a block by its resolution: `b16` (square) or `b16x8` (width x height)."""
    height, width = shape
    return f"b{height}" if height == width else f"b{width}x{height}"


def channels_at(shape, channel_base, channel_max):
    """NVIDIA's channel schedule: `min(channel_base // res, channel_max)` (res = long side)."""
    return int(min(channel_base // max(shape), channel_max))
