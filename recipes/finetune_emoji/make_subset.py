"""Builds the fine-tuning set: the animal emoji, labelled with the `emoji` model's own classes.

The glyphs are picked by code point from the file names of `render_emoji.py`'s zip
(`u1f98a.png`, `u1f415_200d_1f9ba.png`): a glyph is kept when its first code point lies in one of
`--ranges` (default: the animals of "Miscellaneous Symbols and Pictographs", U+1F400-U+1F43F, and
of "Supplemental Symbols and Pictographs", U+1F980-U+1F9AE).

The `emoji` model is conditioned on 32 k-means clusters of the whole font. Each new glyph gets the
class whose mean sample is nearest to it (premultiplied 8x8 RGBA thumbnails, as the clusters were
made), so fine-tuning starts from the classes that already draw something like it and the source
keeps every class: `kstylegan train --cond --resume emoji` then reads the labels as ids of the
source's 32 classes. Writes a zip of the chosen PNGs plus NVIDIA's `dataset.json`.

    python recipes/finetune_emoji/make_subset.py --data emoji64.zip --out animals.zip
"""
import argparse
import io
import json
import os
import re
import zipfile

import numpy as np

ANIMALS = "1f400-1f43f,1f980-1f9ae"
THUMBNAIL = 8  # side of the thumbnails the classes are compared on (cluster_labels.py's default)
NAME = re.compile(r"^u([0-9a-f]{4,6})(?:_[0-9a-f]{4,6})*\.png$")


def parse_ranges(text):
    """`"1f400-1f43f,1f54a"` -> `[(0x1f400, 0x1f43f), (0x1f54a, 0x1f54a)]`."""
    ranges = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        try:
            ranges.append((int(low, 16), int(high or low, 16)))
        except ValueError:
            raise SystemExit(f"error: --ranges takes hex code points like 1f400-1f43f,1f54a. Received: {text!r}")
    return ranges


def pick(names, ranges):
    """The file names whose first code point lies in one of `ranges`, in sorted order."""
    chosen = []
    for name in names:
        match = NAME.match(os.path.basename(name))
        if match and any(low <= int(match.group(1), 16) <= high for low, high in ranges):
            chosen.append(name)
    return sorted(chosen)


def thumbnails(images):
    """uint8 RGBA `[N, S, S, 4]` -> premultiplied `[N, 8*8*4]` box-averaged thumbnails in [0, 1]."""
    images = images.astype("float32") / 255.0
    images[..., :3] *= images[..., 3:]  # colour under transparency carries no weight
    n, side = len(images), images.shape[1]
    factor = side // THUMBNAIL
    boxes = images.reshape(n, THUMBNAIL, factor, THUMBNAIL, factor, images.shape[-1]).mean((2, 4))
    return boxes.reshape(n, -1)


def class_means(generator, per_class, seed=0):
    """Mean thumbnail of `per_class` samples of each of the generator's classes: `[num_classes, D]`."""
    from keras_stylegan.sampling import generate, to_uint8

    rng = np.random.RandomState(seed)
    means = []
    for label in range(generator.num_classes):
        z = rng.randn(per_class, generator.z_dim).astype("float32")
        images = to_uint8(generate(generator, z, labels=np.full(per_class, label), batch_size=per_class))
        means.append(thumbnails(images).mean(0))
    return np.stack(means)


def nearest_classes(images, means):
    points = thumbnails(images)
    distances = (points ** 2).sum(1)[:, None] - 2 * points @ means.T + (means ** 2).sum(1)[None]
    return distances.argmin(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="zip of emoji PNGs named by code point (render_emoji.py)")
    parser.add_argument("--out", required=True, help="zip to write: the chosen PNGs plus dataset.json")
    parser.add_argument("--ranges", default=ANIMALS, help=f"hex code-point ranges to keep [default: {ANIMALS}]")
    parser.add_argument("--source", default="emoji", help="the conditional model whose classes label the set")
    parser.add_argument("--per-class", type=int, default=64, help="samples per class for the class means")
    args = parser.parse_args()
    if os.path.abspath(args.out) == os.path.abspath(args.data):
        raise SystemExit("error: --out must differ from --data (the source is copied, not changed)")
    ranges = parse_ranges(args.ranges)
    try:
        with zipfile.ZipFile(args.data) as source:
            names = pick(source.namelist(), ranges)
            blobs = [source.read(name) for name in names]
    except (OSError, zipfile.BadZipFile) as error:
        raise SystemExit(f"error: cannot read --data {args.data}: {error}")
    if len(names) < 2:
        raise SystemExit(f"error: {len(names)} glyph(s) of {args.data} lie in {args.ranges}: too few to train on")

    from keras_stylegan.data.images import read_images
    from keras_stylegan.zoo import load

    generator = load(args.source)
    if not generator.num_classes:
        raise SystemExit(f"error: {args.source} is not a conditional model: nothing to label the set with")
    images, _ = read_images(np.stack([np.asarray(_png(blob)) for blob in blobs]), generator.resolution,
                               channels=generator.channels)
    labels = nearest_classes(images, class_means(generator, args.per_class))

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    partial = args.out + ".partial"
    with zipfile.ZipFile(partial, "w") as target:
        for name, blob in zip(names, blobs):
            target.writestr(os.path.basename(name), blob)
        dataset = [[os.path.basename(name), int(label)] for name, label in zip(names, labels)]
        target.writestr("dataset.json", json.dumps({"labels": dataset}))
    os.replace(partial, args.out)
    counts = {int(c): int(n) for c, n in zip(*np.unique(labels, return_counts=True))}
    print(f"wrote {args.out}: {len(names)} glyphs in {len(counts)} of {generator.num_classes} classes {counts}")


def _png(blob):
    from PIL import Image

    return Image.open(io.BytesIO(blob)).convert("RGBA")


if __name__ == "__main__":
    main()
