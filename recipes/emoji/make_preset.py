"""Turns a training snapshot into the packaged `emoji` preset and measures it.

Writes `keras_stylegan/presets/emoji/` (float16 weights, float32 at run time) with the
training figures and the sliced Wasserstein distance to the data in its metadata.

    python recipes/emoji/make_preset.py --run runs/emoji32s1 --data emoji64.zip
"""
import argparse
import json
import os

import numpy as np

from keras_stylegan.data.images import read_images
from keras_stylegan.metrics import compute_metrics, pixel_diversity
from keras_stylegan.metrics.swd import sliced_wasserstein_distance
from keras_stylegan.sampling import generate, to_uint8
from keras_stylegan.zoo import load
from keras_stylegan.training.run import list_snapshots, run_labels, training_seconds
from keras_stylegan.zoo.presets import save_preset

REPO = os.path.join(os.path.dirname(__file__), "..", "..")
PRESET = os.path.join(REPO, "keras_stylegan", "presets", "emoji")
CARD = os.path.join(REPO, "zoo", "emoji.json")
ARCHITECTURE_NAMES = {"stylegan": "StyleGAN (2019, progressive growing)", "stylegan2": "StyleGAN2"}


def update_card(card_path, preset_dir):
    """Keeps the zoo card's networks equal to the preset's config (architecture and widths change between runs)."""
    card = json.load(open(card_path))
    for part, file_name in (("generator", "config.json"), ("discriminator", "discriminator.json")):
        config = json.load(open(os.path.join(preset_dir, file_name)))["config"]  # Keras' serialized network
        card[part] = {key: value[0] if key == "resolution" and value[0] == value[1] else value
                      for key, value in config.items() if key not in ("name", "trainable", "dtype")}
    card["architecture"] = card["generator"]["architecture"]
    card["num_classes"] = card["generator"]["num_classes"]
    card["conditional"] = bool(card["num_classes"])
    with open(card_path, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")


def _resume_path(resume, run_dir):
    """The absolute path a run's `resume` names. `kstylegan train` records it as given, relative to the folder
    the training ran in: tried from here, then from each folder above the run."""
    if os.path.exists(resume):
        return os.path.abspath(resume)
    folder = os.path.dirname(os.path.abspath(run_dir))
    while not os.path.exists(os.path.join(folder, resume)):
        if os.path.dirname(folder) == folder:
            return os.path.abspath(resume)
        folder = os.path.dirname(folder)
    return os.path.join(folder, resume)


def fine_tuned_from(options, preset_dir, run_dir):
    """What a run (the dict of its `training_options.json`, in `run_dir`) was fine-tuned from, kept in the new
    metadata so the whole training history stays with the model: the metadata of the preset this script
    replaces (`--resume emoji`, or the preset's directory), or, for a run resumed from a snapshot of another
    run, that run's part (kimg, hours, options) with what *it* was fine-tuned from, and so on down the chain.
    `None` for anything else (a zoo model, a pickle)."""
    resume = options.get("resume")
    names = {"emoji", "keras-stylegan-emoji-32", os.path.abspath(preset_dir)}
    path = os.path.join(preset_dir, "metadata.json")
    if resume is None:
        return None
    resume_path = _resume_path(resume, run_dir)
    if (resume in names or resume_path in names) and os.path.exists(path):
        # The preset may already hold a model made from this very run (packaged again), or from a later
        # run of its chain: then this run started from what that run's record was fine-tuned from.
        metadata = record = json.load(open(path))
        while record:
            if record.get("training_options") == options:
                return record.get("fine_tuned_from")
            record = record.get("fine_tuned_from")
        return metadata
    if not os.path.exists(resume_path) and "/" in resume and "://" not in resume:
        # Packaging without the history would lose it silently.
        raise SystemExit(f"error: {run_dir} was resumed from {resume!r}, not found from here nor from a folder "
                         "above the run: run make_preset.py from the folder the training ran in")
    run = os.path.dirname(resume_path)
    options_path = os.path.join(run, "training_options.json")
    snapshots = {os.path.abspath(p): kimg for kimg, p in list_snapshots(run)} if os.path.isdir(run) else {}
    if resume_path not in snapshots or not os.path.exists(options_path):
        return None
    run_options = json.load(open(options_path))
    kimg = float(snapshots[resume_path])
    part = {"run": os.path.basename(run), "snapshot": os.path.basename(resume), "kimg": kimg,
            "training_hours": round(training_seconds(run, kimg) / 3600, 2), "training_options": run_options}
    return _add_base(part, fine_tuned_from(run_options, preset_dir, run))


def _total(record, key):
    """A record's total `key` ("kimg" or "training_hours") down its chain of fine-tunings."""
    return record.get("total_" + key, record[key])


def _add_base(metadata, base):
    """Adds what `metadata`'s run was fine-tuned from, and the totals of kimg and hours."""
    if base:
        metadata["fine_tuned_from"] = base
        metadata["total_kimg"] = metadata["kimg"] + _total(base, "kimg")
        metadata["total_training_hours"] = round(metadata["training_hours"] + _total(base, "training_hours"), 2)
    return metadata


def previous_preset(base):
    """The first preset down a chain of fine-tunings (a record without a "run" of its own), or None."""
    while base and "run" in base:
        base = base.get("fine_tuned_from")
    return base


def sample_diversity(g, reals, labels, count=1024):
    """Mean L1 distance between two samples, and between two images of the data: overall and, for a
    conditional model, within a class (samples of one class against images of one cluster)."""
    z = np.random.RandomState(2).randn(count, g.z_dim).astype("float32")
    classes = None if labels is None else np.random.RandomState(3).choice(labels, count)
    fakes = to_uint8(generate(g, z, labels=classes, batch_size=256))
    figures = {"samples": pixel_diversity(fakes), "data": pixel_diversity(reals)}
    if labels is not None:
        # All pairs of each class (max_images=count): 8 samples a class would be a noisy measure.
        figures["samples_within_class"] = pixel_diversity(fakes, classes, max_images=count)
        figures["data_within_class"] = pixel_diversity(reals, labels, max_images=count)
        figures["within_class_ratio"] = figures["samples_within_class"] / figures["data_within_class"]
    return {key: round(float(value), 3) for key, value in figures.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="training run directory")
    parser.add_argument("--snapshot", default=None, help="snapshot directory (default: the latest)")
    parser.add_argument("--data", required=True, help="the training images (for the SWD)")
    parser.add_argument("--num", type=int, default=2048, help="images per side of the SWD")
    parser.add_argument("--out", default=PRESET)
    parser.add_argument("--card", default=CARD, help="zoo card to keep in step with the preset")
    args = parser.parse_args()
    if not os.path.isdir(args.run):
        raise SystemExit(f"error: --run {args.run!r} is not a folder")
    snapshots = dict((os.path.basename(path), kimg) for kimg, path in list_snapshots(args.run))
    if not snapshots:
        raise SystemExit(f"error: {args.run} has no network-snapshot-* folder")
    snapshot = args.snapshot or max(snapshots, key=snapshots.get)
    if snapshot not in snapshots:
        raise SystemExit(f"error: {args.run} has no snapshot {snapshot!r}: it has {sorted(snapshots)}")
    g, d = load(os.path.join(args.run, snapshot), discriminator=True)
    options = json.load(open(os.path.join(args.run, "training_options.json")))
    kimg = float(snapshots[snapshot])
    seconds = training_seconds(args.run, kimg)

    reals, info = read_images(args.data, g.resolution, channels=g.channels)
    labels = run_labels(options, reals, info)  # the data's labels, or the run's self-conditioning clusters
    if g.num_classes and labels is None:
        raise SystemExit(f"error: the model is conditional: --data must carry the labels it was trained on "
                         f"(dataset.json, e.g. emoji64_k32.zip). {args.data} has none")
    subset = np.random.RandomState(0).permutation(len(reals))[: args.num]
    reals, labels = reals[subset], (None if labels is None else labels[subset])
    swd = compute_metrics(g, reals, "swd", num_images=len(reals), batch_size=256, seed=1, real_labels=labels)
    half = len(reals) // 2
    swd_reals = sliced_wasserstein_distance(reals[:half], reals[half:], seed=0)
    diversity = sample_diversity(g, reals, labels)

    base = fine_tuned_from(options, args.out, args.run)
    how = "self-conditioning clusters of the run" if options.get("clusters") else "cluster_labels.py"
    conditioning = (f", conditioned on {g.num_classes} k-means clusters of the glyphs ({how}); "
                    f"seed s draws cluster s mod {g.num_classes}" if g.num_classes else "")
    metadata = {
        "license": "Weights: Apache-2.0; training data: Noto Color Emoji, SIL Open Font License 1.1",
        "kimg": kimg, "training_hours": round(seconds / 3600, 2), "training_options": options,
        "swd_x1e3_vs_data": {k: round(float(v), 2) for k, v in swd.items()},
        "swd_x1e3_data_half_vs_half": {k: round(float(v), 2) for k, v in swd_reals.items()},
        "pixel_diversity": diversity,
        "snapshot": snapshot,
    }
    _add_base(metadata, base)
    previous = previous_preset(base)
    tuning = (f". Fine-tuned for {_total(metadata, 'kimg') - _total(previous, 'kimg'):g} kimg from the previous "
              f"emoji model ({_total(previous, 'kimg'):g} kimg)" if previous else "")
    description = (f"{ARCHITECTURE_NAMES[options['architecture']]} trained by keras-stylegan on 3,926 Noto Color "
                   "Emoji glyphs (RGBA, 32x32) on 2 CPU cores" + conditioning + tuning
                   + ". Recipe: recipes/emoji/README.md.")
    metadata = {"description": description, **metadata}
    # This recipe exists to refresh the packaged preset; a directory that is not a preset is still refused.
    save_preset(args.out, g, d, metadata=metadata, weights_dtype="float16", overwrite=True)
    update_card(args.card, args.out)
    size = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(json.dumps({k: v for k, v in metadata.items() if k != "training_options"}, indent=1))
    print(f"preset written to {os.path.abspath(args.out)}: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
