"""Prints the StyleGAN3 parity table: our converted networks against NVIDIA's outputs.

Reads the fixtures in tests/fixtures/stylegan3/ (made by NVIDIA's code, see
tests/fixtures/make_stylegan3_fixtures.py) and prints a Markdown table row per model.

    python benchmarks/parity_stylegan3.py
"""
import json
import os

import numpy as np

from keras_stylegan.zoo import load

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures", "stylegan3")


def parity(name):
    refs = np.load(os.path.join(FIXTURES, f"{name}.ref.npz"))
    info = json.load(open(os.path.join(FIXTURES, f"{name}.json")))
    g, d = load(os.path.join(FIXTURES, f"{name}.pkl"), discriminator=True)
    keys = [(s, p) for s in info["seeds"] for p in info["psis"]]
    nhwc = lambda key: np.transpose(refs[key], (0, 2, 3, 1))  # noqa: E731
    image, moved, score = [], [], []
    for seed, psi in keys:
        labels = refs[f"c_seed{seed}"] if g.num_classes else None
        ws = g.mapping(refs[f"z_seed{seed}"].astype("float32"), labels=labels, psi=psi)
        image.append(np.abs(np.asarray(g.synthesis(ws)) - nhwc(f"img_seed{seed}_psi{psi}")).max())
        moved.append(np.abs(np.asarray(g.synthesis(ws, transform=refs["transform"]))
                            - nhwc(f"img_transform_seed{seed}_psi{psi}")).max())
        want = nhwc(f"img_seed{seed}_psi{psi}")
        got = d(want, labels=labels) if labels is not None else d(want)
        score.append(np.abs(np.asarray(got) - refs[f"dscore_seed{seed}_psi{psi}"]).max())
    std = float(np.std([refs[f"img_seed{s}_psi{p}"] for s, p in keys]))
    config = "T" if not info["G_kwargs"].get("use_radial_filters") else "R"
    return (f"| {name} ({config}, {len(keys)} images) | {std:.3f} | {max(image):.1e} ({max(image) / std:.1e} x std) "
            f"| {max(moved):.1e} | {max(score):.1e} |")


if __name__ == "__main__":
    print("| model | image std | max abs diff, images | max abs diff, transformed images | max abs diff, D scores |")
    print("|---|---|---|---|---|")
    for model in ("sg3t32", "sg3r32"):
        print(parity(model))
