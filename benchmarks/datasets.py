"""Benchmark data sets made on this machine (no download): 32x32 grayscale glyphs.

`glyph_zip` renders letters and digits with the fonts installed here (`fc-list`; PIL's built-in
font when none is found) at several sizes and small random offsets and rotations, white on black,
and writes them as PNG files to a zip that both our trainer and NVIDIA's stylegan2-ada-pytorch
read (its `ImageFolderDataset` takes a zip of PNGs; a 2-D PNG is one channel for both).

    python benchmarks/datasets.py glyphs32.zip            # ~23,000 images from 21 DejaVu fonts
"""
import argparse
import io
import os
import string
import subprocess
import sys
import zipfile

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CHARACTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits
SKIPPED_FONTS = ("Math",)  # symbol fonts: their letters repeat another face's


def installed_fonts():
    """Paths of the installed TrueType/OpenType fonts (sorted, so a data set is the same on a rebuild)."""
    try:
        listing = subprocess.run(["fc-list", ":", "file"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    paths = {line.split(":")[0].strip() for line in listing.splitlines()}
    return sorted(p for p in paths if p.lower().endswith((".ttf", ".otf")) and os.path.exists(p)
                  and not any(word in os.path.basename(p) for word in SKIPPED_FONTS))


def render_glyph(font, character, resolution, offset, angle):
    """One white-on-black glyph, centred on its ink box, moved by `offset` pixels and turned `angle` degrees."""
    canvas = 2 * resolution  # draw large enough that a turned glyph is not clipped, then crop the centre
    image = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), character, font=font)
    x = (canvas - (right - left)) / 2 - left + offset[0]
    y = (canvas - (bottom - top)) / 2 - top + offset[1]
    draw.text((x, y), character, fill=255, font=font)
    if angle:
        image = image.rotate(angle, resample=Image.BILINEAR, center=(canvas / 2, canvas / 2))
    start = (canvas - resolution) // 2
    return image.crop((start, start, start + resolution, start + resolution))


def glyph_images(resolution=32, sizes=(18, 22, 26), variants=6, seed=0, fonts=None):
    """Yields `(name, uint8 [H, W] array)`: every font x character x size, `variants` jittered copies each.

    Example:
    >>> name, image = next(glyph_images(variants=1))
    >>> image.shape, image.dtype
    ((32, 32), dtype('uint8'))
    """
    fonts = installed_fonts() if fonts is None else fonts
    faces = [(os.path.splitext(os.path.basename(p))[0], p) for p in fonts] or [("default", None)]
    rng = np.random.default_rng(seed)
    for face_name, path in faces:
        for size in sizes:
            scale = size * resolution / 32
            font = ImageFont.truetype(path, int(round(scale))) if path else ImageFont.load_default()
            for character in CHARACTERS:
                for variant in range(variants):
                    offset = rng.uniform(-1.5, 1.5, 2) * resolution / 32
                    angle = rng.uniform(-6, 6)
                    image = render_glyph(font, character, resolution, offset, angle)
                    label = f"{ord(character):03d}"
                    yield f"{face_name}-{size}-{label}-{variant}.png", np.asarray(image)


def glyph_zip(path, resolution=32, sizes=(18, 22, 26), variants=6, seed=0):
    """Writes the glyph set to a zip of PNGs at `path` (atomically: a temporary file, then a rename);
    returns the number of images."""
    count = 0
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED) as archive:
            for name, image in glyph_images(resolution, sizes, variants, seed):
                buffer = io.BytesIO()
                Image.fromarray(image, "L").save(buffer, format="PNG")
                archive.writestr(name, buffer.getvalue())
                count += 1
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="zip to write")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--variants", type=int, default=6, help="jittered copies of each font x size x character")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if os.path.exists(args.out):
        print(f"Error: {args.out} exists; remove it or choose another path", file=sys.stderr)
        sys.exit(2)
    count = glyph_zip(args.out, args.resolution, variants=args.variants, seed=args.seed)
    print(f"{count} glyph images ({len(installed_fonts()) or 1} fonts) written to {args.out}")


if __name__ == "__main__":
    main()
