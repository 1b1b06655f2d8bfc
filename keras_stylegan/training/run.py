"""Training runs: a directory that holds everything, and that a restart resumes.

    run/
      training_options.json   the resolved TrainingConfig (a restart reads it back; --override rewrites it)
      stats.jsonl             one JSON line per tick
      checkpoint.h5           networks, optimizers, counters, the tick's stats (atomic; resumed from)
      reals.png, fakes*.png   the real grid and the EMA generator's grid every tick (fixed seeds)
      network-snapshot-*/     presets of the EMA generator (+ D), loadable with `zoo.load`
      logs/                   TensorBoard scalars and images
"""
import dataclasses
import json
import math
import os
import sys
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_stylegan.data.clusters import cluster_labels
from keras_stylegan.data.dataset import training_stream
from keras_stylegan.data.images import read_images
from keras_stylegan.networks import Discriminator, Generator
from keras_stylegan.sampling import image_grid, save_image, to_uint8
from keras_stylegan.training.backend_check import check_training_backend
from keras_stylegan.training.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from keras_stylegan.training.config import BLUR_FADE_KIMG, ConfigError, TrainingConfig, changed_options, renamed_options
from keras_stylegan.training.stylegan import StyleGAN, is_multi_worker
from keras_stylegan.utils.files import atomic_path, remove_stale_temporaries
from keras_stylegan.utils.shapes import format_resolution

OPTIONS_FILE = "training_options.json"
STATS_FILE = "stats.jsonl"
STRATEGIES = ("none", "mirrored", "multiworker")
MAX_DATA_BYTES = 16 * 2 ** 30  # decoded training images held in memory


SNAPSHOT_PREFIX = "network-snapshot-"


def to_images(kimg):
    """Images in `kimg` thousand, rounded up (a float's 0.1 + 0.2 does not add an image)."""
    return int(math.ceil(kimg * 1000 - 1e-6))


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


def run_labels(options, images, info):
    """The class of each training image as a run saw it (`None` if unconditional): the data's labels,
    or with self-conditioning (`clusters`) the k-means clusters of `images`, recomputed as the run
    computes them (same images, same seed, same clusters). `options`: a `TrainingConfig` or the
    dict of a run's `training_options.json`; `images`, `info`: what `read_images` gives for the data."""
    config = _as_config(options)
    if config.clusters:
        return cluster_labels(images, config.clusters, seed=config.seed)
    return info.labels if config.num_classes else None


class TrainingError(RuntimeError):
    """Training stopped (non-finite loss); the last good checkpoint is kept."""


class ResumeMismatch(ValueError):
    """Resuming a run with options that differ from the ones it trained with.

    `changes` lists `(option, stored value, requested value)`.
    """

    def __init__(self, outdir, changes):
        self.outdir = outdir
        self.changes = changes
        listed = ", ".join(f"{name} {old!r} -> {new!r}" for name, old, new in changes)
        example = ", ".join(f"{name!r}: {new!r}" for name, _, new in changes)
        super().__init__(f"{outdir} trained with other options: {listed}; to change them on purpose pass "
                         f"override={{{example}}}, or use another outdir")


def default_options(architecture="stylegan2", resolution=32, channels=3, batch_size=None, r1_gamma=None):
    """The resolved options of NVIDIA's `auto` preset (StyleGAN 2019: NVIDIA's recipe) as a JSON dict.

    Example:
    >>> default_options("stylegan2", 32, 4)["r1_gamma"]
    0.0064
    """
    config = TrainingConfig(architecture=architecture, cfg="auto", resolution=resolution, channels=channels,
                            batch_size=batch_size, r1_gamma=r1_gamma)
    return config.resolve().to_json()


def _as_config(options):
    if isinstance(options, TrainingConfig):
        return options
    return TrainingConfig.from_json(options)


def build_gan(options, schedule=None):
    """The `StyleGAN` (uncompiled) described by a resolved `TrainingConfig` or its JSON dict."""
    config = _as_config(options)
    net = dict(architecture=config.architecture, resolution=config.resolution, channels=config.channels,
               channel_base=config.channel_base, channel_max=config.channel_max, conv_clamp=config.conv_clamp,
               num_fp16_res=config.num_fp16_res or 0)  # None: a run from before float16 existed
    extra = config.network_kwargs or {}  # arguments a fine-tuning source needs beyond the config's fields
    g_extra = {}
    if config.architecture == "stylegan3":  # NVIDIA's train.py: the magnitude EMA's half-life is 20 kimg
        g_extra = dict(block_architecture="r" if config.cfg == "r" else "t",
                       magnitude_ema_beta=0.5 ** (config.batch_size / 20000))
    generator = Generator(z_dim=config.z_dim, w_dim=config.w_dim, mapping_layers=config.mapping_layers,
                          num_classes=config.num_classes, name="generator",
                          **{**net, **g_extra, **extra.get("generator", {})})
    d_extra = {} if config.architecture == "stylegan" else \
        dict(block_architecture=config.d_block_architecture or "resnet")
    if config.architecture == "stylegan3":
        d_extra["architecture"] = "stylegan2"  # NVIDIA trains StyleGAN3 against the StyleGAN2 discriminator
    mbstd = 4 if config.mbstd_group_size is None else config.mbstd_group_size
    discriminator = Discriminator(num_classes=config.num_classes, name="discriminator", mbstd_group_size=mbstd,
                                  **{**net, **d_extra, **extra.get("discriminator", {})})
    gan = StyleGAN(
        generator, discriminator, r1_gamma=config.r1_gamma, r1_interval=config.r1_interval,
        pl_weight=config.pl_weight, style_mixing_prob=config.style_mixing_prob, ema_kimg=config.ema_kimg,
        ema_rampup=config.ema_rampup, augment=config.augment, augment_p=config.augment_p,
        ada_target=config.ada_target, ada_kimg=config.ada_kimg, loss=config.loss, augpipe=config.augpipe,
        lod_initial_resolution=config.lod_initial_resolution, lod_training_kimg=config.lod_training_kimg,
        lod_transition_kimg=config.lod_transition_kimg, seed=config.seed, schedule=schedule,
        blur_sigma=config.blur_sigma or 0.0, blur_fade_kimg=config.blur_fade_kimg or BLUR_FADE_KIMG,
        mode_seeking_weight=config.mode_seeking_weight,
    )
    if config.freezed or config.freeze_g:
        from keras_stylegan.training.finetune import freeze

        freeze(gan, config.freezed, config.freeze_g)
    return gan


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
    save_image(image_grid(images[: rows * cols], cols), path)  # atomic


class NonFiniteStop(keras.callbacks.Callback):
    """Stops `fit()` at the first non-finite loss (the run then keeps its last good checkpoint)."""

    def __init__(self):
        super().__init__()
        self.failure = None

    def on_train_batch_end(self, batch, logs=None):
        for name in ("g_loss", "d_loss"):
            value = (logs or {}).get(name)
            if value is not None and not math.isfinite(float(value)):
                self.failure = f"{name} is {float(value)} at kimg {float(self.model.nimg.numpy()) / 1000:.3f}"
                self.model.stop_training = True
                return


class _TickWriter:
    """The end of a tick, on the chief: checkpoint (atomic), then stats line, sample grid, TensorBoard and
    snapshot. A run killed after the checkpoint re-emits the rest on resume (`catch_up`)."""

    def __init__(self, outdir, config, grid_z, grid_labels):
        self.outdir = outdir
        self.config = config
        self.grid_z = grid_z
        self.grid_labels = grid_labels
        self.writer = tf.summary.create_file_writer(os.path.join(outdir, "logs"))

    def end_tick(self, gan, stats, phase):
        save_checkpoint(os.path.join(self.outdir, CHECKPOINT_FILE), gan,
                        {"kimg": stats["kimg"], "tick": stats["tick"], "phase": list(phase), "stats": stats})
        self.emit(gan, stats)

    def emit(self, gan, stats):
        with open(os.path.join(self.outdir, STATS_FILE), "a") as f:
            f.write(json.dumps(stats) + "\n")
        kimg = stats["kimg"]
        images = to_uint8(gan.generator_ema(self.grid_z, labels=self.grid_labels, noise_mode="const"))
        _save_grid(images, images.shape[1:3], os.path.join(self.outdir, f"fakes{int(round(kimg)):06d}.png"))
        with self.writer.as_default(step=int(round(kimg * 1000))):
            for name, value in stats.items():
                if name not in ("tick", "timestamp") and isinstance(value, (int, float)):
                    tf.summary.scalar(name, value)
            tf.summary.image("fakes", images[: min(16, len(images))].astype(np.float32) / 255.0, max_outputs=16)
        self.writer.flush()
        done = round(stats["kimg"] * 1000) >= to_images(self.config.kimg)
        if done or stats["tick"] % self.config.snapshot_ticks == 0:  # NVIDIA's loop also snapshots its last tick
            from keras_stylegan.zoo.presets import save_preset

            save_preset(os.path.join(self.outdir, snapshot_name(kimg)), gan.generator_ema,
                        gan.discriminator, metadata={"kimg": kimg, "training_options": self.config.to_json()},
                        overwrite=True)  # two ticks may round to the same whole kimg

    def catch_up(self, gan, metadata):
        """Re-emits the last tick's stats line, grid and snapshot if a kill came right after its checkpoint."""
        stats = metadata.get("stats")
        done = read_stats(self.outdir)
        if stats and (not done or done[-1].get("tick", 0) < stats["tick"]):
            self.emit(gan, stats)


def _gpu_visible():
    try:
        return bool(tf.config.list_physical_devices("GPU"))
    except Exception:  # pragma: no cover - no device query on this build
        return False


def _peak_memory_gb():
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # KiB on Linux
    except (ImportError, OSError):  # pragma: no cover
        return float("nan")


def _duration(seconds):
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    if seconds >= 86400:
        return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def tick_line(stats, total_kimg):
    """The one line printed per tick: kimg, sec/kimg, ETA to `total_kimg`, losses, p, lod, memory."""
    kimg = stats["kimg"]
    sec_per_kimg = stats["sec_per_kimg"]
    eta = max(total_kimg - kimg, 0.0) * sec_per_kimg
    return (f"tick {stats['tick']:<5d} kimg {kimg:<9.3f} sec/kimg {sec_per_kimg:<8.2f} ETA {_duration(eta):<8s} "
            f"g_loss {stats.get('g_loss', float('nan')):.3f}  d_loss {stats.get('d_loss', float('nan')):.3f}  "
            f"p {stats.get('augment_p', 0.0):.3f}  lod {stats.get('lod', 0.0):.2f}  "
            f"mem {stats.get('peak_memory_gb', float('nan')):.2f} GB")


def _check_memory(data, resolution, channels):
    """Refuses, before any image is decoded, a resolution whose images could not fit in memory."""
    from keras_stylegan.data.images import scan_source

    if not isinstance(data, (str, os.PathLike)):
        return
    import zipfile

    try:
        count = len(scan_source(data).names or [])
    except zipfile.BadZipFile as error:
        raise ValueError(f"cannot read {os.fspath(data)} as a zip file: {error}") from None
    needed = count * resolution[0] * resolution[1] * (channels or 4)
    if needed > MAX_DATA_BYTES:
        raise ValueError(f"{count} images at {format_resolution(resolution)} need {needed / 2 ** 30:.1f} GiB of "
                         f"memory (limit {MAX_DATA_BYTES / 2 ** 30:.0f} GiB): train at a smaller resolution")


def _requested_config(config, options, override):
    """The config asked for, and the names the caller chose explicitly (compared on resume)."""
    if config is None:
        config = TrainingConfig()
    elif isinstance(config, dict):
        config = TrainingConfig.from_json(config)
    elif not isinstance(config, TrainingConfig):
        raise ValueError(f"`config` must be a TrainingConfig. Received: {type(config).__name__}")
    defaults = TrainingConfig()
    explicit = {f.name for f in dataclasses.fields(config) if getattr(config, f.name) != getattr(defaults, f.name)}
    options = renamed_options(options, stacklevel=5)
    requested = config.replace(**options)
    explicit |= set(options)
    override = dict(override or {})
    if override:
        requested = requested.replace(**override)
    return requested, explicit, set(override)


# Fields a fine-tuning source fixes that cannot be adapted: asked for with another value, they are refused.
_SOURCE_FIXED = ("architecture", "z_dim", "w_dim", "mapping_layers", "channel_base", "channel_max",
                 "d_block_architecture")


def _fine_tuning_config(requested, explicit, start):
    """`requested` with the fields the fine-tuning source fixes (its architecture and widths; its resolution
    and channels unless asked for, which the weights are then adapted to)."""
    from keras_stylegan.training.finetune import source_settings

    fields, network_kwargs = source_settings(start)
    for name in _SOURCE_FIXED:
        if name in explicit and name in fields and getattr(requested, name) != fields[name]:
            raise ConfigError(name, f"`{name}` {getattr(requested, name)!r} disagrees with {start.source}, whose "
                                    f"networks have {fields[name]!r}: leave it out to fine-tune them")
    if fields["architecture"] == "stylegan3":
        _check_stylegan3_source(requested, explicit, start, fields)
    elif requested.cfg in ("t", "r"):
        raise ConfigError("cfg", f"`cfg` {requested.cfg!r} is a StyleGAN3 configuration and {start.source} is a "
                                 f"{fields['architecture']} model: leave it out to fine-tune it")
    keep = {"resolution", "channels", "conv_clamp", "conditional"} & explicit
    fields = {name: value for name, value in fields.items() if name not in keep}
    if fields["architecture"] == "stylegan" and "lod_initial_resolution" not in explicit:
        # Progressive growing starts at the source's resolution: a larger run fades only its new blocks in.
        target = requested.resolution if "resolution" in explicit else fields["resolution"]
        fields["lod_initial_resolution"] = min(max(start.generator_ema.resolution), max(target))
    return requested.replace(network_kwargs=network_kwargs or None, **fields)


def _check_stylegan3_source(requested, explicit, start, fields):
    """A StyleGAN3 source trains as it is: its config (T or R), resolution and channels (see finetune)."""
    kind = start.generator_ema.block_architecture
    if "cfg" in explicit and requested.cfg in ("t", "r") and requested.cfg != kind:
        raise ConfigError("cfg", f"`cfg` {requested.cfg!r} disagrees with {start.source}, a StyleGAN3-"
                                 f"{kind.upper()} model: leave it out (or pass {kind!r}) to fine-tune it")
    for name in ("resolution", "channels"):
        if name in explicit and getattr(requested, name) != fields[name]:
            have = format_resolution(fields[name]) if name == "resolution" else fields[name]
            raise ConfigError(name, f"`{name}` cannot change when fine-tuning a StyleGAN3 model ({start.source} "
                                    f"has {have}): its layers are designed for their sizes; leave it out")


def _num_classes(info, start):
    """The run's classes: the data's, or a conditional fine-tuning source's when the data's labels are ids of
    its classes (a set labelled with a few of the source's classes has a smaller largest id; building the run
    from that would drop the source's label embedding)."""
    source_classes = start.generator_ema.num_classes if start is not None else 0
    return source_classes if 0 < info.num_classes <= source_classes else info.num_classes


def _load_fine_tuning_source(gan, start):
    """Copies (and adapts) the source's weights into the new run's networks; returns the summary lines."""
    from keras_stylegan.training.finetune import TransferReport, transfer

    g_report = transfer(gan.generator_ema, start.generator_ema)
    transfer(gan.generator, start.generator, TransferReport())
    lines = [f"Fine-tuning: {start.describe()}", f"  G: {g_report.summary()}"]
    if start.discriminator is not None:
        lines.append(f"  D: {transfer(gan.discriminator, start.discriminator).summary()}")
    else:
        lines.append(f"  D starts fresh: {start.source} has no discriminator")
    return lines


def train(data, outdir, config=None, strategy=None, verbose="auto", override=None, **options):
    """Trains (or resumes) a run in `outdir` on images from `data`; returns the `StyleGAN`.

    Everything the run needs is in `outdir`: starting again on the same directory continues
    where the last checkpoint left off (images shown, lod, optimizer states, EMA, w_avg, ADA p,
    random streams). A resumed run keeps its options: one asked for with another value is
    refused (`ResumeMismatch`) unless passed in `override`; `kimg`, `tick_kimg`,
    `snapshot_ticks` and `grid_size` may change freely.

    `resume=SOURCE` starts a new run from another model's weights (a zoo card, an NVIDIA pickle,
    a `.keras` generator, a preset directory or a run directory of ours): the networks take the
    source's architecture, widths, resolution and channels (a `resolution` or `channels` asked for
    is reached by adapting the weights, see `keras_stylegan.training.finetune`), the training
    settings come from the preset and the options. `freezed` and `freeze_g` keep parts fixed.

    Args:
        data: folder, zip, .npz/.npy or array of images (see `keras_stylegan.data.image_dataset`).
        outdir: run directory.
        config: a `TrainingConfig` (default: its defaults; `cfg` `auto` with a GPU, else `cpu`).
        strategy: `None`, `"mirrored"`, `"multiworker"` or a `tf.distribute.Strategy`.
        verbose: 0 silent; 1 start summary, progress bar and a line per tick; 2 the same without
            the progress bar; `"auto"`: 1 on a terminal, else 2.
        override: `{option: value}` applied even to a resumed run (e.g. `{"learning_rate": 0.001}`).
        resume: (an option) start a new run from another model's weights: a zoo name, an NVIDIA pickle,
            a `.keras` file, a preset or run directory, e.g. `train("faces/", "runs/faces",
            resume="stylegan2-ada-ffhq-1024", resolution=256, freezed=4)`.
        **options: any `TrainingConfig` field, replacing the config's (e.g. `kimg=200`).

    Example:
    >>> gan = train("emoji.zip", "runs/emoji", resolution=32, channels=4, kimg=200)  # doctest: +SKIP
    """
    check_training_backend()
    requested, explicit, overridden = _requested_config(config, options, override)
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    say = print if verbose else (lambda *args, **kwargs: None)
    outdir = os.path.abspath(os.fspath(outdir))
    options_path = os.path.join(outdir, OPTIONS_FILE)
    stored = None
    if os.path.exists(options_path):
        try:
            with open(options_path) as f:
                stored = TrainingConfig.from_json(json.load(f))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as error:
            raise ValueError(f"{options_path} is not a training-options file: {error}") from None
        if "resume" in explicit | overridden:
            raise ConfigError("resume", f"{outdir} already holds a run: `resume` starts a new run from a model's "
                                        "weights; use another outdir, or leave `resume` out to continue this run")
        compared = sorted(name for name in explicit - overridden if name not in TrainingConfig.RUNTIME_FIELDS)
        changes = [(name, getattr(stored, name), getattr(requested, name))
                   for name in changed_options(stored, requested, compared)]
        if changes:
            raise ResumeMismatch(outdir, changes)
        keep = {name: getattr(requested, name) for name in TrainingConfig.RUNTIME_FIELDS
                if name in explicit or name == "kimg"}
        keep.update({name: getattr(requested, name) for name in overridden})
        requested = stored.replace(**keep)
    start = None
    if stored is None and requested.resume is not None:
        from keras_stylegan.training.finetune import load_source

        start = load_source(requested.resume)
        requested = _fine_tuning_config(requested, explicit | overridden, start)
    elif stored is not None and stored.resume is not None and \
            not os.path.exists(os.path.join(outdir, CHECKPOINT_FILE)):
        from keras_stylegan.training.finetune import load_source

        start = load_source(stored.resume)  # stopped before its first checkpoint: start from the source again
    resolution = requested.resolution
    _check_memory(data, resolution, requested.channels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images, info = read_images(data, resolution, channels=requested.channels, fit=requested.fit)
    if info.num_upscaled == info.num_images:
        raise ValueError(f"resolution {format_resolution(resolution)} is larger than every image in {info.source}: "
                         "train at the images' size or smaller")
    for warning in caught:  # skipped files, some upscaled images: worth saying once
        warnings.warn(warning.message, stacklevel=2)
    if info.num_images < 2:
        raise ValueError(f"{info.source} has {info.num_images} readable image(s): too few to train on")
    if requested.conditional and info.labels is None:
        why = f" ({requested.resume} is a conditional model)" if start is not None and \
            "conditional" not in explicit else ""
        raise ValueError(f"conditional=True{why} but {info.source} has no labels (dataset.json)")

    if isinstance(strategy, str) or strategy is None:
        strategy = make_strategy(strategy)
    replicas = strategy.num_replicas_in_sync
    gpu = _gpu_visible()
    # NVIDIA turns TF32 off (it hurts GAN training on Ampere and newer GPUs); no effect on CPUs.
    tf.config.experimental.enable_tensor_float_32_execution(False)
    if stored is None:
        config = requested.resolve(resolution, info.channels, _num_classes(info, start), replicas=replicas, gpu=gpu,
                                   num_images=info.num_images)
        reason = ("chosen" if requested.cfg else ("a GPU is visible" if gpu else "no GPU is visible"))
    else:
        config = requested
        reason = "stored in the run"
    schedule = config.schedule(replicas)
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        gan = build_gan(config, schedule)
        gan.compile(learning_rate=schedule.learning_rate(0), d_learning_rate=config.d_learning_rate)  # + slots
    is_chief = _is_chief(strategy)
    os.makedirs(outdir, exist_ok=True)
    remove_stale_temporaries(outdir)  # of saves killed in an earlier run
    checkpoint = os.path.join(outdir, CHECKPOINT_FILE)
    metadata, loaded = {}, []
    if os.path.exists(checkpoint):
        metadata = load_checkpoint(checkpoint, gan)
    elif start is not None:
        loaded = _load_fine_tuning_source(gan, start)
    if is_chief and (stored is None or overridden):  # other workers write nothing (TF's multi-worker advice)
        with atomic_path(options_path) as tmp, open(tmp, "w") as f:
            json.dump(dict(config.to_json(), data=str(data) if isinstance(data, (str, os.PathLike)) else "array",
                           num_images=info.num_images), f, indent=2)
    if stored is None and is_chief:
        _save_grid(images[: config.grid_size], resolution, os.path.join(outdir, "reals.png"))
    with strategy.scope():
        if is_multi_worker():  # only the chief may see the checkpoint (no shared disk): take its state
            _broadcast_from_chief(strategy, gan)

    nimg = int(gan.nimg.numpy())
    total_nimg = to_images(config.kimg)
    say(f"Preset: {config.cfg} ({reason}); {config.describe()}")
    say(f"Networks: G {gan.generator.count_params():,} parameters, D {gan.discriminator.count_params():,}")
    skipped = f", {info.num_skipped} unreadable file(s) skipped" if info.num_skipped else ""
    say(f"Data: {info.num_images} images from {info.source}{skipped}")
    for line in loaded:
        say(line)
    if metadata or stored is not None:
        say(f"Resuming {outdir} at kimg {nimg / 1000:.3f} of {config.kimg:g}")
    else:
        say(f"New run in {outdir}, to kimg {config.kimg:g}")

    grid_z = np.random.RandomState(config.seed + 123).randn(config.grid_size, config.z_dim).astype("float32")
    grid_labels = np.arange(config.grid_size) % config.num_classes if config.num_classes else None
    writer = _TickWriter(outdir, config, grid_z, grid_labels) if is_chief else None
    if writer and metadata:
        gan.sync_lod()
        writer.catch_up(gan, metadata)
    loop = _TickLoop(gan, config, schedule, writer, total_nimg, int(metadata.get("tick", 0)), verbose)
    labels = run_labels(config, images, info)
    if config.clusters:
        sizes = np.bincount(labels, minlength=config.clusters)
        say(f"Self-conditioning: {config.clusters} k-means clusters of the images' thumbnails "
            f"({sizes.min()}-{sizes.max()} images each); samples take cluster seed % {config.clusters}")
    # The group size D actually uses (a `resume` source brings its own).
    class_groups = gan.discriminator.mbstd_group_size if config.class_groups else 0
    last_phase = tuple(metadata["phase"]) if metadata.get("phase") else schedule.phase(nimg)
    while nimg < total_nimg:
        phase = schedule.phase(nimg)
        if phase != last_phase and schedule.progressive:
            gan.reset_optimizers()
        last_phase = loop.phase = phase
        gan.set_learning_rate(schedule.learning_rate(nimg), config.d_learning_rate)
        gan.set_min_lod(phase[0] if schedule.progressive else 0)
        batch = schedule.batch(nimg)
        phase_steps = schedule.phase_steps(nimg, total_nimg)
        tick_steps = -(-(loop.tick_end - nimg) // batch)
        if nimg == loop.tick_start and phase_steps >= tick_steps:
            steps, epochs = tick_steps, phase_steps // tick_steps  # whole ticks: one fit() for all of them
        else:
            steps, epochs = min(tick_steps, phase_steps), 1  # a tick cut by a phase change, or the last one
        # The k-th image shown depends on (seed, k) only: a resumed run sees what an uninterrupted one does.
        # One stream serves all the ticks of a phase (opening a tf.data iterator costs seconds on a busy CPU).
        stream = training_stream(images, batch, first_image=nimg, labels=labels, xflip=config.xflip,
                                 seed=config.seed, class_groups=class_groups, replicas=replicas)
        loop.steps = steps
        gan.fit(stream, steps_per_epoch=steps, initial_epoch=loop.tick, epochs=loop.tick + epochs,
                callbacks=[loop.stop, loop], shuffle=False, verbose=1 if verbose == 1 else 0)
        if loop.stop.failure:
            raise TrainingError(_failure_message(loop.stop.failure, checkpoint))
        nimg = int(gan.nimg.numpy())
    return gan


class _TickLoop(keras.callbacks.Callback):
    """Ends ticks as NVIDIA's loop does: at the first step that reaches the tick's last image or the
    run's; a tick may span several `fit()` calls (a phase change inside it)."""

    def __init__(self, gan, config, schedule, writer, total_nimg, tick, verbose):
        super().__init__()
        self.gan, self.config, self.schedule, self.writer = gan, config, schedule, writer
        self.total_nimg, self.tick, self.verbose = total_nimg, tick, verbose
        self.tick_nimg = to_images(config.tick_kimg)
        self.stop = NonFiniteStop()
        self.phase, self.steps, self.chunks = (0, 0), 0, []
        self._start_tick(int(gan.nimg.numpy()))

    def _start_tick(self, nimg):
        self.tick_start, self.tick_end, self.tick_clock, self.chunks = nimg, nimg + self.tick_nimg, time.time(), []

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.failure:
            return  # never checkpoint a diverged state
        self.chunks.append((self.steps, {k: float(v) for k, v in (logs or {}).items()}))
        nimg = int(self.gan.nimg.numpy())
        if nimg < self.tick_end and nimg < self.total_nimg:
            return
        self.tick += 1
        self.gan.sync_lod()
        seconds = time.time() - self.tick_clock
        stats = _tick_stats(self.chunks)
        stats.update(tick=self.tick, kimg=round(nimg / 1000, 3), sec_per_tick=round(seconds, 2),
                     sec_per_kimg=round(seconds * 1000 / max(nimg - self.tick_start, 1), 3),
                     kimg_per_hour=round((nimg - self.tick_start) / 1000 * 3600 / max(seconds, 1e-9), 2),
                     peak_memory_gb=round(_peak_memory_gb(), 3), timestamp=time.time())
        if self.writer:
            self.writer.end_tick(self.gan, stats, self.phase)
        if self.verbose:
            print(tick_line(stats, self.config.kimg), flush=True)
        self._start_tick(nimg)


def _tick_stats(chunks):
    """One tick's stats from its `fit()` calls: step-weighted means, and the last value of counters."""
    total = sum(steps for steps, _ in chunks)
    stats = {}
    for name in chunks[-1][1]:
        if name in ("lod", "kimg", "augment_p"):
            stats[name] = chunks[-1][1][name]
        else:
            stats[name] = sum(steps * logs.get(name, 0.0) for steps, logs in chunks) / total
    return stats


def _failure_message(failure, checkpoint):
    if os.path.exists(checkpoint):
        return f"training stopped: {failure}; the last good checkpoint is kept in {checkpoint}"
    return f"training stopped: {failure}; no checkpoint was written yet (the first is written at the end of tick 1)"


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
