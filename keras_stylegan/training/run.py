"""Training runs: a directory that holds everything, and that a restart resumes.

    run/
      training_options.json   every option, written once (a restart reads it back)
      stats.jsonl             one JSON line per tick
      checkpoint.h5           networks, optimizers, counters (atomic; resumed from)
      reals.png, fakes*.png   the real grid and the EMA generator's grid every tick (fixed seeds)
      network-snapshot-*/     presets of the EMA generator (+ D), loadable with `zoo.load`
      logs/                   TensorBoard scalars and images
"""
import json
import math
import os
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_stylegan.data.dataset import training_stream
from keras_stylegan.data.images import read_images
from keras_stylegan.networks import Discriminator, Generator
from keras_stylegan.sampling import image_grid, save_image, to_uint8
from keras_stylegan.training.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from keras_stylegan.training.schedule import STYLEGAN_MINIBATCH
from keras_stylegan.training.stylegan import AUGMENT_MODES, StyleGAN, _multi_worker
from keras_stylegan.utils.files import atomic_path
from keras_stylegan.utils.shapes import format_resolution, parse_resolution

OPTIONS_FILE = "training_options.json"
STATS_FILE = "stats.jsonl"
STRATEGIES = ("none", "mirrored", "multiworker")


SNAPSHOT_PREFIX = "network-snapshot-"


def snapshot_name(kimg):
    """The directory name of the snapshot taken after `kimg` thousand images."""
    return f"{SNAPSHOT_PREFIX}{int(round(kimg)):06d}"


def list_snapshots(outdir):
    """`(kimg, path)` of every network snapshot of a run, oldest first.

    Example:
    >>> list_snapshots("runs/emoji32")[-1]  # doctest: +SKIP
    (100, 'runs/emoji32/network-snapshot-000100')
    """
    names = [name for name in os.listdir(outdir) if name.startswith(SNAPSHOT_PREFIX)
             and name[len(SNAPSHOT_PREFIX):].isdigit() and os.path.isdir(os.path.join(outdir, name))]
    return sorted((int(name[len(SNAPSHOT_PREFIX):]), os.path.join(outdir, name)) for name in names)


def read_stats(outdir):
    """The run's per-tick stats (`stats.jsonl`), oldest first."""
    path = os.path.join(outdir, STATS_FILE)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def training_seconds(outdir, kimg):
    """Wall-clock training seconds the run took to reach `kimg` (its ticks' durations summed)."""
    return sum(tick["sec_per_tick"] for tick in read_stats(outdir) if tick["kimg"] <= kimg + 0.5)


class TrainingError(RuntimeError):
    """Training stopped (non-finite loss); the last good checkpoint is kept."""


def default_options(architecture="stylegan2", resolution=32, channels=3, batch_size=None, r1_gamma=None):
    """NVIDIA-like defaults for small models (stylegan2-ada's 'auto' config, scaled to the resolution).

    Example:
    >>> default_options("stylegan2", 32, 4)["r1_gamma"]
    0.0064
    """
    height, width = parse_resolution(resolution)
    side = max(height, width)
    batch = batch_size or max(min(side // 2, 32), 4)
    if architecture == "stylegan2":
        gamma = 0.0002 * side ** 2 / batch if r1_gamma is None else r1_gamma  # stylegan2-ada 'auto'
        return dict(
            channel_base=min(16384, side * 512), channel_max=512 if side >= 128 else 256, mapping_layers=2 if
            side <= 64 else 8, z_dim=512, w_dim=512, batch_size=batch, r1_gamma=round(gamma, 6),
            ema_kimg=batch * 10 / 32, ema_rampup=0.05, learning_rate=0.0025, style_mixing_prob=0.9,
            mbstd_group_size=min(batch, 4),
        )
    return dict(
        channel_base=16384, channel_max=512, mapping_layers=8, z_dim=512, w_dim=512, batch_size=batch,
        r1_gamma=10.0 if r1_gamma is None else r1_gamma, ema_kimg=10.0, ema_rampup=None, learning_rate=0.001,
        style_mixing_prob=0.9, mbstd_group_size=4,
    )


def build_gan(options):
    """The `StyleGAN` (uncompiled) described by a training-options dict."""
    net = dict(architecture=options["architecture"], resolution=options["resolution"],
               channels=options["channels"], channel_base=options["channel_base"],
               channel_max=options["channel_max"])
    generator = Generator(z_dim=options["z_dim"], w_dim=options["w_dim"], mapping_layers=options["mapping_layers"],
                          num_classes=options["num_classes"], name="generator", **net)
    discriminator = Discriminator(num_classes=options["num_classes"], name="discriminator",
                                  mbstd_group_size=options.get("mbstd_group_size", 4), **net)
    return StyleGAN(
        generator, discriminator, r1_gamma=options["r1_gamma"], r1_interval=options.get("r1_interval"),
        style_mixing_prob=options["style_mixing_prob"],
        ema_kimg=options["ema_kimg"], ema_rampup=options["ema_rampup"], augment=options["augment"],
        augment_p=options["augment_p"], ada_target=options["ada_target"],
        ada_kimg=options.get("ada_kimg", 500.0), loss=options["loss"],
        lod_initial_resolution=options["lod_initial_resolution"], lod_training_kimg=options["lod_training_kimg"],
        lod_transition_kimg=options["lod_transition_kimg"], seed=options["seed"],
    )


def make_strategy(name):
    """`None` / `"none"`, `"mirrored"` (all local devices) or `"multiworker"` (TF_CONFIG cluster)."""
    if name in (None, "none"):
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: {name!r}")


def _save_grid(images, resolution, path):
    """As many of `images` (uint8) as fill a whole grid, about square in pixels, as a PNG."""
    cols = max(1, int(round(math.sqrt(len(images) * resolution[0] / resolution[1]))))
    rows = max(1, len(images) // cols)
    save_image(image_grid(images[: rows * cols], cols), path)


class RunCallback(keras.callbacks.Callback):
    """Per tick: stats line, TensorBoard, sample grid, checkpoint and snapshot; stops on a non-finite loss."""

    def __init__(self, outdir, options, grid_z, grid_labels=None, snapshot_ticks=1, is_chief=True):
        super().__init__()
        self.outdir = outdir
        self.options = options
        self.grid_z = grid_z
        self.grid_labels = grid_labels
        self.snapshot_ticks = snapshot_ticks
        self.is_chief = is_chief
        self.failure = None
        self.tick_start = time.time()
        self.writer = tf.summary.create_file_writer(os.path.join(outdir, "logs")) if is_chief else None

    def on_epoch_begin(self, epoch, logs=None):
        self.tick_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        for name in ("g_loss", "d_loss"):
            value = (logs or {}).get(name)
            if value is not None and not math.isfinite(float(value)):
                self.failure = f"{name} is {float(value)} at kimg {float(self.model.nimg.numpy()) / 1000:.1f}"
                self.model.stop_training = True
                return

    def on_epoch_end(self, epoch, logs=None):
        if self.failure:
            return  # never checkpoint a diverged state
        gan = self.model
        gan.sync_lod()
        kimg = float(gan.nimg.numpy()) / 1000
        seconds = time.time() - self.tick_start
        stats = {k: float(v) for k, v in (logs or {}).items()}  # tick means; kimg below is the exact count
        stats.update(tick=epoch + 1, kimg=round(kimg, 3), sec_per_tick=round(seconds, 2),
                     kimg_per_hour=round(self.options["tick_kimg"] * 3600 / max(seconds, 1e-9), 2),
                     timestamp=time.time())
        if not self.is_chief:
            return
        save_checkpoint(os.path.join(self.outdir, CHECKPOINT_FILE), gan, {"kimg": kimg, "tick": epoch + 1})
        with open(os.path.join(self.outdir, STATS_FILE), "a") as f:
            f.write(json.dumps(stats) + "\n")
        images = to_uint8(gan.generator_ema(self.grid_z, labels=self.grid_labels, noise_mode="const"))
        _save_grid(images, images.shape[1:3], os.path.join(self.outdir, f"fakes{int(round(kimg)):06d}.png"))
        with self.writer.as_default(step=int(gan.nimg.numpy())):
            for name, value in stats.items():
                if name not in ("tick", "timestamp"):
                    tf.summary.scalar(name, value)
            tf.summary.image("fakes", images[: min(16, len(images))].astype(np.float32) / 255.0, max_outputs=16)
        self.writer.flush()
        if (epoch + 1) % self.snapshot_ticks == 0:
            from keras_stylegan.zoo.presets import save_preset

            save_preset(os.path.join(self.outdir, snapshot_name(kimg)), gan.generator_ema,
                        gan.discriminator, metadata={"kimg": kimg, "training_options": self.options})


def _resolve_options(outdir, requested):
    """A new run's options, or the stored ones of a run being resumed (only `kimg` may change)."""
    path = os.path.join(outdir, OPTIONS_FILE)
    if not os.path.exists(path):
        return requested, False
    with open(path) as f:
        stored = json.load(f)
    stored["kimg"] = requested["kimg"]
    return stored, True


def train(data, outdir, architecture="stylegan2", resolution=32, channels=None, kimg=1000.0, batch_size=None,
          augment="ada", augment_p=0.0, ada_target=0.6, ada_kimg=500.0, r1_gamma=None, r1_interval=None,
          learning_rate=None,
          loss="logistic", channel_base=None, channel_max=None, mapping_layers=None, z_dim=None, w_dim=None,
          ema_kimg=None, mbstd_group_size=None, xflip=False, fit="crop", tick_kimg=4.0, snapshot_ticks=10, lod_initial_resolution=8,
          lod_training_kimg=600.0, lod_transition_kimg=600.0, conditional=False, seed=0, strategy=None,
          grid_size=32, verbose="auto"):
    """Trains (or resumes) a run in `outdir` on images from `data`; returns the `StyleGAN`.

    Everything the run needs is in `outdir`: starting again on the same directory continues
    where the last checkpoint left off (images shown, lod, optimizer states, EMA, w_avg, ADA p,
    random streams), with `kimg` as the new total.

    Args:
        data: folder, zip, .npz/.npy or array of images (see `keras_stylegan.data.image_dataset`).
        outdir: run directory.
        architecture: `"stylegan2"` or `"stylegan"` (progressive growing).
        resolution: training resolution, int or `"WxH"`.
        channels: image channels (default: the data's).
        kimg: total thousands of real images to show.
        batch_size: global batch (default: stylegan2-ada's choice for the resolution; for
            StyleGAN, NVIDIA's per-resolution schedule when `None`).
        augment: `"ada"`, `"fixed"` or `"none"`.
        augment_p: fixed (or initial) augmentation probability.
        ada_target: ADA target for `E[sign(D(reals))]`.
        ada_kimg: ADA speed: thousands of images for p to be able to go from 0 to 1 (NVIDIA: 500;
            short runs on small datasets want it faster, e.g. 100).
        r1_gamma: R1 weight (default: stylegan2-ada's `0.0002 * res^2 / batch`; 10 for StyleGAN).
        r1_interval: lazy R1 every this many steps (default 16 for StyleGAN2, 1 for StyleGAN as
            NVIDIA's; 16 with StyleGAN halves an 8x8 growing step on the CPU, less at full size:
            `benchmarks/training_speed.py`).
        learning_rate, loss, channel_base, channel_max, mapping_layers, z_dim, w_dim, ema_kimg:
            override the defaults of `default_options`.
        mbstd_group_size: discriminator minibatch-stddev group (default 4; NVIDIA's CIFAR-10 config
            uses 32, a larger group lets D see a lack of variety); must divide the batch.
        xflip: mirror half the reals (dataset x-flips).
        fit: `"crop"` or `"resize"` images to the training shape.
        tick_kimg: thousands of images per tick (one `fit()` epoch: stats, grid, checkpoint).
        snapshot_ticks: write a network snapshot preset every this many ticks.
        lod_initial_resolution, lod_training_kimg, lod_transition_kimg: progressive growing.
        conditional: train on the class labels of the data's `dataset.json`.
        seed: seed of initialization, data order and every random stream.
        strategy: `None`, `"mirrored"`, `"multiworker"` or a `tf.distribute.Strategy`.
        grid_size: images in the per-tick sample grid.
        verbose: Keras progress display.

    Example:
    >>> gan = train("emoji.zip", "runs/emoji", resolution=32, channels=4, kimg=200)  # doctest: +SKIP
    """
    if architecture not in ("stylegan", "stylegan2"):
        raise ValueError(f"`architecture` must be 'stylegan' or 'stylegan2'. Received: {architecture!r}")
    if augment not in AUGMENT_MODES:
        raise ValueError(f"`augment` must be one of {AUGMENT_MODES}. Received: {augment!r}")
    if not (isinstance(kimg, (int, float)) and kimg > 0):
        raise ValueError(f"`kimg` must be a positive number. Received: {kimg!r}")
    outdir = os.path.abspath(os.fspath(outdir))
    resolution = parse_resolution(resolution)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images, info = read_images(data, resolution, channels=channels, fit=fit)
    if info.num_upscaled == info.num_images:
        raise ValueError(f"resolution {format_resolution(resolution)} is larger than every image in {info.source}: "
                         "train at the images' size or smaller")
    for warning in caught:  # skipped files, some upscaled images: worth saying once
        warnings.warn(warning.message, stacklevel=2)
    if info.num_images < 2:
        raise ValueError(f"{info.source} has {info.num_images} readable image(s): too few to train on")
    if conditional and info.labels is None:
        raise ValueError(f"conditional=True but {info.source} has no labels (dataset.json)")
    requested = dict(default_options(architecture, resolution, info.channels, batch_size, r1_gamma))
    overrides = dict(learning_rate=learning_rate, channel_base=channel_base, channel_max=channel_max,
                     mapping_layers=mapping_layers, z_dim=z_dim, w_dim=w_dim, ema_kimg=ema_kimg,
                     mbstd_group_size=mbstd_group_size, r1_interval=r1_interval)
    requested.update({k: v for k, v in overrides.items() if v is not None})
    requested.update(
        architecture=architecture, resolution=list(resolution), channels=info.channels, kimg=float(kimg),
        augment=augment, augment_p=float(augment_p), ada_target=float(ada_target), ada_kimg=float(ada_kimg),
        loss=loss, xflip=bool(xflip), fit=fit, tick_kimg=float(tick_kimg), snapshot_ticks=int(snapshot_ticks),
        lod_initial_resolution=int(lod_initial_resolution), lod_training_kimg=float(lod_training_kimg),
        lod_transition_kimg=float(lod_transition_kimg), num_classes=info.num_classes if conditional else 0,
        seed=int(seed), data=str(data) if isinstance(data, (str, os.PathLike)) else "array",
        num_images=info.num_images, batch_schedule=None,
    )
    if architecture == "stylegan" and batch_size is None:
        requested["batch_schedule"] = {str(k): v // 8 for k, v in STYLEGAN_MINIBATCH.items()}  # per-GPU sizes
    options, resuming = _resolve_options(outdir, requested)
    group = options.get("mbstd_group_size", 4)
    batches = [options["batch_size"]] + list((options.get("batch_schedule") or {}).values())
    if not (isinstance(group, int) and group >= 0) or any(group and b % min(group, b) for b in batches):
        raise ValueError(f"`mbstd_group_size` must be 0 (off) or divide the batch size {options['batch_size']}. "
                         f"Received: {group!r}")
    if resuming and list(options["resolution"]) != list(resolution):
        raise ValueError(f"{outdir} is a run at {format_resolution(options['resolution'])}, not "
                         f"{format_resolution(resolution)}: use another --outdir")

    if isinstance(strategy, str) or strategy is None:
        strategy = make_strategy(strategy)
    keras.utils.set_random_seed(options["seed"])
    with strategy.scope():
        gan = build_gan(options)
        gan.compile(learning_rate=options["learning_rate"])  # also creates the optimizer slots
    is_chief = _is_chief(strategy)
    os.makedirs(outdir, exist_ok=True)
    checkpoint = os.path.join(outdir, CHECKPOINT_FILE)
    metadata = {}
    if os.path.exists(checkpoint):
        metadata = load_checkpoint(checkpoint, gan)
        gan.sync_lod()
    elif not resuming and is_chief:  # other workers write nothing (TF's multi-worker advice)
        with atomic_path(os.path.join(outdir, OPTIONS_FILE)) as tmp, open(tmp, "w") as f:
            json.dump(options, f, indent=2)
        _save_grid(images[:grid_size], resolution, os.path.join(outdir, "reals.png"))
    with strategy.scope():
        if _multi_worker():  # only the chief may see the checkpoint (no shared disk): take its state
            _broadcast_from_chief(strategy, gan)

    grid_z = np.random.RandomState(options["seed"] + 123).randn(grid_size, options["z_dim"]).astype("float32")
    grid_labels = None
    if options["num_classes"]:
        grid_labels = np.arange(grid_size) % options["num_classes"]
    callback = RunCallback(outdir, options, grid_z, grid_labels, options["snapshot_ticks"], is_chief)
    total_nimg = int(options["kimg"] * 1000)
    tick = int(metadata.get("tick", 0))
    labels = info.labels if options["num_classes"] else None
    while int(gan.nimg.numpy()) < total_nimg:
        nimg = int(gan.nimg.numpy())
        batch = _batch_size_at(options, gan, nimg)
        steps = max(1, int(round(options["tick_kimg"] * 1000 / batch)))
        # One fit() for every tick at this batch size and lowest level of detail (all ticks, unless
        # growing); the lowest lod a tick reaches (at its end) decides which blocks it skips.
        min_lod = _min_lod_until(gan, nimg + steps * batch)
        ticks, at = 0, nimg
        while (at < total_nimg and _batch_size_at(options, gan, at) == batch
               and _min_lod_until(gan, at + steps * batch) == min_lod):
            ticks, at = ticks + 1, at + steps * batch
        gan.set_min_lod(min_lod)
        # The k-th image shown depends on (seed, k) only: a resumed run sees what an uninterrupted one does.
        stream = training_stream(images, batch, first_image=nimg, labels=labels, xflip=options["xflip"],
                                 seed=options["seed"])
        gan.fit(stream, steps_per_epoch=steps, initial_epoch=tick, epochs=tick + ticks, callbacks=[callback],
                shuffle=False, verbose=verbose)
        if callback.failure:
            raise TrainingError(f"training stopped: {callback.failure}; the last good checkpoint is kept in "
                                f"{checkpoint}")
        tick += ticks
    return gan


def _batch_size_at(options, gan, nimg):
    """The global batch: fixed, or StyleGAN's per-resolution schedule while growing."""
    schedule = options.get("batch_schedule")
    if not schedule or not gan.progressive:
        return options["batch_size"]
    lod = float(gan.lod(nimg))
    side = min(options["resolution"]) >> int(math.floor(lod))
    return int(schedule.get(str(side), options["batch_size"]))


def _min_lod_until(gan, nimg):
    """The whole levels of detail that stay hidden until `nimg` images (lod only decreases)."""
    return int(math.floor(float(gan.lod(nimg)))) if gan.progressive else 0


def _broadcast_from_chief(strategy, gan):
    """Sets every variable of `gan`, on every worker, to its value on the first replica (the chief's)."""
    variables = list(gan.state_variables().values())

    def assign_first_replica_values():
        ctx = tf.distribute.get_replica_context()
        first = tf.equal(ctx.replica_id_in_sync_group, 0)
        for dtype in sorted({v.dtype for v in variables}):  # one all-reduce per dtype, same order everywhere
            group = [v for v in variables if v.dtype == dtype]
            for variable, value in zip(group, ctx.all_reduce("sum", [tf.where(first, v, tf.zeros_like(v))
                                                                     for v in group])):
                variable.assign(value)

    tf.function(lambda: strategy.run(assign_first_replica_values))()


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type in ("chief",) or (resolver.task_type == "worker" and resolver.task_id == 0)
