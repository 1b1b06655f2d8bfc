"""Parity with NVIDIA: converts official-format pickles and compares against NVIDIA's outputs.

Points at a folder of fixtures laid out as NAME.ada.pkl / NAME.tf.pkl / NAME.pkl with
NAME.ref.npz (keys `z_seed{s}`, `img_seed{s}_psi{p}[_cutoff{c}]` in NCHW, `dscore_...`,
`dscore_batch4_...`), loads each pickle with our safe reader and converter, runs the same z
with `noise_mode="const"` and prints max |delta| for images (also relative to the reference
image's standard deviation) and discriminator scores.

    python benchmarks/parity.py ../shared/fixtures
"""
import argparse
import glob
import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from keras_stylegan.zoo.convert import convert_pickle  # noqa: E402

KEY = re.compile(r"img_seed(\d+)_psi([\d.]+)(?:_cutoff(\d+))?$")


def compare(pickle_path, ref):
    out = convert_pickle(pickle_path)
    g, d = out["generator"], out["discriminator"]
    worst_img = worst_rel = worst_d = 0.0
    batches = {}
    for key in sorted(k for k in ref.files if KEY.match(k)):
        seed, psi, cutoff = KEY.match(key).groups()
        z = ref[f"z_seed{seed}"].astype("float32")
        cutoff = int(cutoff) if cutoff else None
        image = ops.convert_to_numpy(g(z, psi=float(psi), truncation_cutoff=cutoff, noise_mode="const"))
        expected = ref[key].transpose(0, 2, 3, 1)
        delta = float(np.abs(image - expected).max())
        worst_img = max(worst_img, delta)
        worst_rel = max(worst_rel, delta / float(expected.std()))
        suffix = key[len(f"img_seed{seed}_"):]
        batches.setdefault(suffix, []).append(expected)
        score = ops.convert_to_numpy(d(expected))
        worst_d = max(worst_d, float(np.abs(score - ref[f"dscore_seed{seed}_{suffix}"]).max()))
    for suffix, images in batches.items():  # a batch of 4 exercises minibatch stddev
        key = f"dscore_batch4_{suffix}"
        if key in ref.files and len(images) == 4:
            score = ops.convert_to_numpy(d(np.concatenate(images)))
            worst_d = max(worst_d, float(np.abs(score - ref[key]).max()))
    return worst_img, worst_rel, worst_d, out["metadata"]["generator_config"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    args = parser.parse_args()
    print("| fixture | format | architecture | max abs delta image | relative to image std | max abs delta D score |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for ref_path in sorted(glob.glob(os.path.join(args.folder, "*.ref.npz"))):
        name = os.path.basename(ref_path)[: -len(".ref.npz")]
        ref = np.load(ref_path)
        for suffix, fmt in ((".ada.pkl", "PyTorch"), (".tf.pkl", "TF1"), (".pkl", "TF1")):
            path = os.path.join(args.folder, name + suffix)
            if not os.path.exists(path):
                continue
            img, rel, dscore, config = compare(path, ref)
            worst = max(worst, rel)
            print(f"| {name}{suffix} | {fmt} | {config['architecture']} | {img:.2e} | {rel:.2e} | {dscore:.2e} |",
                  flush=True)
    import keras

    print(f"\nbackend: {keras.backend.backend()}; TensorFlow imported: {'tensorflow' in sys.modules}")
    print(f"worst image delta relative to std: {worst:.2e} (target <= 1e-4): {'PASS' if worst <= 1e-4 else 'FAIL'}")


if __name__ == "__main__":
    main()
