"""`TrainingConfig`: every option of a training run, typed, validated, with NVIDIA's presets.

A config holds what the user chose; options left `None` come from the preset (`cfg`) when
the run starts and the data's size is known (`resolve`). The resolved config is what runs
and is what `training_options.json` records; a resumed run reads it back (`from_json`,
which also reads the files of earlier versions).

Presets (`cfg`) follow NVIDIA's stylegan2-ada-pytorch `train.py`: `auto` (its formula from
the resolution and the device count), `stylegan2`, `paper256`, `paper512`, `paper1024`,
`cifar`; `cpu` is ours: a network and batch sized for a few CPU cores. With
`architecture="stylegan"` (2019), `auto` is NVIDIA's StyleGAN recipe (per-resolution
minibatch and learning rate) and `cpu` the same schedule with a small network. With
`architecture="stylegan3"`, `t` and `r` are NVIDIA's stylegan3 `train.py` configurations
(`stylegan3-t`, `stylegan3-r`; `auto` is `t`), `cpu` a small T network.
"""
import dataclasses
import functools
import math
import numbers
from typing import Optional

from keras_stylegan.training.schedule import (
    STYLEGAN_LEARNING_RATE, STYLEGAN_LEARNING_RATE_BASE, STYLEGAN_MINIBATCH, STYLEGAN_MINIBATCH_BASE, Schedule,
)
from keras_stylegan.utils.checks import (GENERATOR_RENAMED_KEYWORDS, TRAINING_RENAMED_KEYWORDS, renamed_keyword,
                                         with_renamed_keys)
from keras_stylegan.utils.shapes import parse_resolution

ARCHITECTURES = ("stylegan2", "stylegan", "stylegan3")
PRESETS = ("auto", "stylegan2", "paper256", "paper512", "paper1024", "cifar", "cpu", "t", "r")
STYLEGAN_PRESETS = ("auto", "cpu")
STYLEGAN3_PRESETS = ("auto", "t", "r", "cpu")
AUGMENT_MODES = ("ada", "fixed", "none")
LOSSES = ("logistic", "wgan-gp", "r3gan")
FITS = ("crop", "resize")
D_ARCHITECTURES = ("resnet", "skip", "orig")
FREEZE_G = ("mapping", "coarse")
NETWORK_KWARGS = ("generator", "discriminator")
MAX_RESOLUTION = 4096  # per side; NVIDIA's largest models are 1024
MAX_KIMG = 1e9
# NVIDIA's StyleGAN3-R blurs D's inputs with a Gaussian of this sigma, fading out over
# 200 kimg at batch 32 (stylegan3 train.py: `blur_fade_kimg = batch * 200 / 32`).
STYLEGAN3_R_BLUR_SIGMA = 10.0
BLUR_FADE_KIMG = 200.0
# The `cpu` preset's minibatch and self-conditioning clusters (unconditional data; fewer clusters when the
# data has fewer than CLUSTER_MIN_IMAGES images per cluster, none below two clusters).
CPU_BATCH = 8
CPU_CLUSTERS = 32
CPU_D_LR_RATIO = 0.5  # D's learning rate over G's
CLUSTER_MIN_IMAGES = 64

# NVIDIA's fixed presets (train.py `cfg_specs`): global batch, minibatch-stddev group, channel_base
# (fmaps * 32768), learning rate, R1 gamma, EMA half-life (kimg), EMA rampup, mapping layers.
_NVIDIA_PRESETS = {
    "stylegan2": dict(batch=32, mbstd=4, cbase=32768, lr=0.002, gamma=10.0, ema=10.0, ramp=None, map=8),
    "paper256": dict(batch=64, mbstd=8, cbase=16384, lr=0.0025, gamma=1.0, ema=20.0, ramp=None, map=8),
    "paper512": dict(batch=64, mbstd=8, cbase=32768, lr=0.0025, gamma=0.5, ema=20.0, ramp=None, map=8),
    "paper1024": dict(batch=32, mbstd=4, cbase=32768, lr=0.002, gamma=2.0, ema=10.0, ramp=None, map=8),
    "cifar": dict(batch=64, mbstd=32, cbase=32768, lr=0.0025, gamma=0.01, ema=500.0, ramp=0.05, map=2),
}


class ConfigError(ValueError):
    """An option with a bad value; `field` names it."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def _auto_preset(side, replicas):
    """NVIDIA's `--cfg auto` for a `side`-pixel dataset on `replicas` devices (its formula, term by term)."""
    batch = max(min(replicas * min(4096 // side, 32), 64), replicas)
    return dict(batch=batch, mbstd=min(batch // replicas, 4), cbase=32768 if side >= 512 else 16384,
                lr=0.002 if side >= 1024 else 0.0025, gamma=0.0002 * side ** 2 / batch, ema=batch * 10 / 32,
                ramp=0.05, map=2)


def _stylegan3_preset(cfg, side):
    """NVIDIA's stylegan3 `train.py` for `--cfg stylegan3-t|r` (batch 32 as its examples; it takes
    gamma by hand: here stylegan2-ada's `auto` formula), or ours (`cpu`: a small T network)."""
    batch = 32 if cfg != "cpu" or side <= 64 else 16
    spec = dict(batch=batch, mbstd=4, cbase=32768, cmax=512, lr=0.0025, dlr=0.002, gamma=0.0002 * side ** 2 / batch,
                ema=batch * 10 / 32, ramp=0.05, map=2, pl=0.0, mix=0.0, blur=0.0)
    if cfg == "r":
        spec.update(cbase=65536, cmax=1024, blur=STYLEGAN3_R_BLUR_SIGMA)
    elif cfg == "cpu":
        spec.update(cbase=4096, cmax=128, zdim=256)
    return spec


def _cpu_preset(side):
    """Ours: a network two CPU cores train at ~25 s per kimg at 32 px (RGBA emoji, measured with
    `kstylegan train`; notes/training.md has the earlier network-size measurements): channels capped
    at 128, 2 mapping layers, 256-wide latents; no path-length regularization and no style mixing, as
    NVIDIA's own small-image preset (`cifar`): both cost CPU time that a short run needs for images.
    Batch 8 with self-conditioning on 32 k-means clusters: on a CPU a small batch costs about the same
    seconds per kimg as 32 but gives four times the steps, and with them D's projection keeps G's
    clusters apart; together the two were the only change of more than twenty tried that kept a
    20-minute run from collapsing to one stroke (notes/versus.md). Learning rate 0.001: NVIDIA's 0.0025
    is for batches of 32-64; at 8 it oscillated more. R1 gamma and the EMA stay those of `auto`'s batch
    (32; 16 above 64 px), as NVIDIA's `--batch` override keeps them: the formulas at batch 8 would give
    4x the gamma and a quarter of the EMA. D learns at half G's rate (two time-scale update rule,
    Heusel et al. 2017): with D at G's rate it wins from the first kimg (scores +-3.6), ADA's p climbs
    and samples oscillate between a few shapes; at half, the same 26-minute run fell steadily to SWD
    ~19 (x1e3) against ~40-50 (notes/versus.md, session 15)."""
    reference_batch = 32 if side <= 64 else 16
    return dict(batch=CPU_BATCH, mbstd=4, cbase=4096, cmax=128, lr=0.001, dlr_ratio=CPU_D_LR_RATIO,
                gamma=0.0002 * side ** 2 / reference_batch, ema=reference_batch * 10 / 32, ramp=0.05, map=2, zdim=256,
                pl=0.0, mix=0.0, clusters=CPU_CLUSTERS)


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """The options of a training run (`None`: from the preset `cfg` when the run starts).

    Args:
        architecture: `"stylegan2"`, `"stylegan"` (2019, progressive growing) or `"stylegan3"`
            (alias-free; trained against a StyleGAN2 discriminator).
        cfg: preset (`auto`, `stylegan2`, `paper256`, `paper512`, `paper1024`, `cifar`, `cpu`;
            StyleGAN3: `t`, `r`, `auto` = `t`, `cpu`); `None`: `auto` when a GPU is visible, else `cpu`.
        resolution: `(height, width)`, an int or `"WxH"`.
        channels: image channels (`None`: the data's).
        conditional: train on the data's class labels.
        clusters: self-conditioning (Liu et al. 2020): condition G and D on this many equal-sized k-means
            clusters of the data's 8x8 thumbnails, so that D judges each fake against its cluster (0: off;
            `None`: the preset's: `cpu` 32 for an unconditional StyleGAN2 trained from scratch, fewer when the
            data has fewer than 64 images per cluster; other presets 0).
            Sampling takes cluster `seed % clusters` unless a class is given, as for any conditional model;
            the clusters being equal, that draws them as often as the data has them.
        kimg: total thousands of real images to show (the run stops at the first step that reaches it).
        batch_size: global minibatch (StyleGAN 2019 default: NVIDIA's per-resolution table).
        batch_table: `{side: minibatch}` by resolution being trained (StyleGAN 2019).
        learning_rate: Adam learning rate (StyleGAN 2019 default: NVIDIA's per-resolution table).
        learning_rate_table: `{side: learning rate}` (StyleGAN 2019).
        d_learning_rate: the discriminator's learning rate when it differs (StyleGAN3: 0.002, as NVIDIA).
        blur_sigma, blur_fade_kimg: blur of D's inputs fading out (StyleGAN3-R: 10 over batch * 200 / 32 kimg;
            0 when fine-tuning, as NVIDIA's `--resume`).
        r1_gamma, r1_interval: R1 weight and lazy-regularization interval.
        pl_weight: path-length weight (StyleGAN2 default 2; `cifar`: 0).
        mode_seeking_weight: weight of MSGAN's mode-seeking term in G's loss (`mean|z1 - z2| /
            mean|G(z1) - G(z2)|` over pairs of the batch), against mode collapse (0: off).
        loss: `"logistic"` (non-saturating + R1), `"wgan-gp"`, or `"r3gan"` (relativistic pairing + R1 + R2
            at gamma `r1_gamma`, lazy every `r1_interval` steps; R3GAN's paper: `r1_interval=1`).
        channel_base, channel_max, mapping_layers, z_dim, w_dim: network size.
        conv_clamp: activation clamp (NVIDIA: 256 in every stylegan2-ada preset).
        num_fp16_res: StyleGAN2: G and D blocks at this many highest resolutions compute in float16
            (NVIDIA's mixed precision, no loss scaling; `None`: 4 when a GPU is visible, as NVIDIA, else 0).
        fp32: no float16 at all (NVIDIA's `--fp32`).
        d_block_architecture: the StyleGAN2 discriminator's blocks, `"resnet"` (`cifar`: `"orig"`).
            The old name `d_architecture` still works, with a `DeprecationWarning`.
        mbstd_group_size: minibatch-stddev group (0 = off).
        class_groups: conditional runs: each minibatch-stddev group of a batch holds images of one
            class (reals and the fakes drawn for them), so D's stddev feature measures the variety
            within a class and a generator that draws one picture per class is told apart
            (`keras_stylegan.data.dataset.training_stream`).
        ema_kimg, ema_rampup: generator EMA half-life and rampup.
        style_mixing_prob: style-mixing regularization probability.
        augment: `"ada"`, `"fixed"` or `"none"`; augpipe: NVIDIA's pipeline preset (`"bgc"`, ...).
        augment_p, ada_target, ada_kimg: initial/fixed p, ADA target and speed.
        xflip: mirror half the reals; fit: `"crop"` or `"resize"` the images.
        tick_kimg, snapshot_ticks: kimg per tick (stats, grid, checkpoint); a snapshot every this many
            ticks and at the end.
        lod_initial_resolution, lod_training_kimg, lod_transition_kimg: progressive growing.
        seed: seed of every random stream.
        grid_size: images in the per-tick sample grid.
        resume: start a new run from this model's weights (zoo card, NVIDIA pickle, `.keras`, preset
            directory or run directory); its architecture, widths, resolution and channels are the
            run's (see `keras_stylegan.training.finetune`).
        freezed: Freeze-D: D's first N layers from the top resolution are not trained (NVIDIA's `--freezed`).
        freeze_g: `"mapping"` (G's mapping network) or `"coarse"` (G's 4x4 and 8x8 blocks) not trained.
        network_kwargs: `{"generator": {...}, "discriminator": {...}}` network arguments beyond the
            fields above (set from a `resume` source whose networks need them).

    Example:
    >>> config = TrainingConfig(cfg="auto", kimg=200).resolve((32, 32), channels=4)
    >>> config.batch_size, config.r1_gamma, config.mapping_layers, config.conv_clamp
    (32, 0.0064, 2, 256.0)
    """

    architecture: str = "stylegan2"
    cfg: Optional[str] = None
    resolution: tuple = (32, 32)
    channels: Optional[int] = None
    conditional: bool = False
    clusters: Optional[int] = None
    num_classes: int = 0
    kimg: float = 1000.0
    batch_size: Optional[int] = None
    batch_table: Optional[dict] = None
    learning_rate: Optional[float] = None
    learning_rate_table: Optional[dict] = None
    d_learning_rate: Optional[float] = None
    blur_sigma: Optional[float] = None
    blur_fade_kimg: Optional[float] = None
    r1_gamma: Optional[float] = None
    r1_interval: Optional[int] = None
    pl_weight: Optional[float] = None
    mode_seeking_weight: float = 0.0
    loss: str = "logistic"
    channel_base: Optional[int] = None
    channel_max: Optional[int] = None
    mapping_layers: Optional[int] = None
    z_dim: Optional[int] = None
    w_dim: Optional[int] = None
    conv_clamp: Optional[float] = None
    num_fp16_res: Optional[int] = None
    fp32: bool = False
    d_block_architecture: Optional[str] = None
    mbstd_group_size: Optional[int] = None
    class_groups: bool = False
    ema_kimg: Optional[float] = None
    ema_rampup: Optional[float] = None
    style_mixing_prob: Optional[float] = None
    augment: str = "ada"
    augpipe: str = "bgc"
    augment_p: float = 0.0
    ada_target: float = 0.6
    ada_kimg: float = 500.0
    xflip: bool = False
    fit: str = "crop"
    tick_kimg: float = 4.0
    snapshot_ticks: int = 10
    lod_initial_resolution: int = 8
    lod_training_kimg: float = 600.0
    lod_transition_kimg: float = 600.0
    seed: int = 0
    grid_size: int = 32
    resume: Optional[str] = None
    freezed: int = 0
    freeze_g: Optional[str] = None
    network_kwargs: Optional[dict] = None

    # Options a resumed run may change without `override` (they do not change what is trained).
    RUNTIME_FIELDS = ("kimg", "tick_kimg", "snapshot_ticks", "grid_size")

    def __post_init__(self):
        resolution = self.resolution
        if isinstance(resolution, list):
            resolution = tuple(resolution)
        try:
            resolution = parse_resolution(resolution)
        except (ValueError, TypeError) as error:
            raise ConfigError("resolution", str(error)) from None
        object.__setattr__(self, "resolution", tuple(int(r) for r in resolution))
        self.validate()

    # ---- validation ------------------------------------------------------------------------

    def validate(self):
        """Raises `ConfigError` (a `ValueError`) naming the first bad option."""
        _choice(self, "architecture", ARCHITECTURES)
        if self.cfg is not None:
            _choice(self, "cfg", PRESETS)
            if self.architecture == "stylegan" and self.cfg not in STYLEGAN_PRESETS:
                raise ConfigError("cfg", f"`cfg` {self.cfg!r} is a StyleGAN2 preset; architecture 'stylegan' "
                                         f"takes {' or '.join(STYLEGAN_PRESETS)}")
            if self.architecture == "stylegan3" and self.cfg not in STYLEGAN3_PRESETS:
                raise ConfigError("cfg", f"`cfg` {self.cfg!r} is not a StyleGAN3 preset; architecture 'stylegan3' "
                                         f"takes {', '.join(STYLEGAN3_PRESETS)}")
            # With `resume`, the architecture comes from the source: fine-tuning checks it once it is read.
            if self.architecture != "stylegan3" and self.cfg in ("t", "r") and self.resume is None:
                raise ConfigError("cfg", f"`cfg` {self.cfg!r} is a StyleGAN3 configuration; pass architecture "
                                         "'stylegan3' with it")
        if self.architecture == "stylegan3" and self.resolution[0] != self.resolution[1]:
            raise ConfigError("resolution", f"StyleGAN3 generates square images. Received: {self.resolution}")
        for side in self.resolution:
            if not 4 <= side <= MAX_RESOLUTION:
                raise ConfigError("resolution", f"`resolution` sides must be from 4 to {MAX_RESOLUTION}. "
                                                f"Received: {self.resolution}")
        _choice(self, "loss", LOSSES)
        _choice(self, "augment", AUGMENT_MODES)
        _choice(self, "fit", FITS)
        if self.d_block_architecture is not None:
            _choice(self, "d_block_architecture", D_ARCHITECTURES)
        if not isinstance(self.augpipe, str) or not self.augpipe:
            raise ConfigError("augpipe", f"`augpipe` must be a pipeline name. Received: {self.augpipe!r}")
        known = _augment_pipelines()
        if known is not None and self.augpipe not in known:
            raise ConfigError("augpipe", f"`augpipe` must be one of {', '.join(known)}. Received: {self.augpipe!r}")
        if self.channels is not None:
            _integer(self, "channels", 1, 4)
        _flag(self, "conditional")
        _flag(self, "xflip")
        _flag(self, "fp32")
        _integer(self, "num_classes", 0, 100_000)
        _integer(self, "clusters", 0, 100_000, optional=True)
        if self.clusters and self.conditional:
            raise ConfigError("clusters", f"`clusters` {self.clusters} conditions on k-means clusters and "
                                          "`conditional` on the data's labels: choose one")
        if self.clusters and self.resume is not None:
            raise ConfigError("clusters", f"`clusters` {self.clusters} makes a new conditional model; a run that "
                                          "`resume`s keeps its source's conditioning: leave `clusters` out")
        _number(self, "kimg", 0, MAX_KIMG, low_open=True)
        _number(self, "tick_kimg", 0, MAX_KIMG, low_open=True)
        _integer(self, "snapshot_ticks", 1, 10 ** 9)
        _integer(self, "seed", 0, 2 ** 32 - 1)
        _integer(self, "grid_size", 1, 1024)
        _integer(self, "batch_size", 1, 65536, optional=True)
        _number(self, "learning_rate", 0, 10.0, low_open=True, optional=True)
        _number(self, "d_learning_rate", 0, 10.0, low_open=True, optional=True)
        _number(self, "blur_sigma", 0, 1000.0, optional=True)
        _number(self, "blur_fade_kimg", 0, MAX_KIMG, low_open=True, optional=True)
        _number(self, "r1_gamma", 0, 1e9, optional=True)
        _integer(self, "r1_interval", 1, 10 ** 6, optional=True)
        _number(self, "pl_weight", 0, 1e9, optional=True)
        _number(self, "mode_seeking_weight", 0, 1e9)
        _integer(self, "channel_base", 1, 2 ** 20, optional=True)
        _integer(self, "channel_max", 1, 4096, optional=True)
        _integer(self, "mapping_layers", 1, 64, optional=True)
        _integer(self, "z_dim", 1, 8192, optional=True)
        _integer(self, "w_dim", 1, 8192, optional=True)
        _number(self, "conv_clamp", 0, 1e9, low_open=True, optional=True)
        _integer(self, "mbstd_group_size", 0, 1024, optional=True)
        _number(self, "ema_kimg", 0, MAX_KIMG, optional=True)
        _number(self, "ema_rampup", 0, 1e6, low_open=True, optional=True)
        _number(self, "style_mixing_prob", 0, 1, optional=True)
        _number(self, "augment_p", 0, 1)
        _number(self, "ada_target", 0, 1)
        _number(self, "ada_kimg", 0, MAX_KIMG, low_open=True)
        _integer(self, "lod_initial_resolution", 4, MAX_RESOLUTION)
        if self.lod_initial_resolution & (self.lod_initial_resolution - 1):
            raise ConfigError("lod_initial_resolution", "`lod_initial_resolution` must be a power of two. "
                                                        f"Received: {self.lod_initial_resolution}")
        _number(self, "lod_training_kimg", 0, MAX_KIMG)
        if self.resume is not None and (not isinstance(self.resume, str) or not self.resume.strip()):
            raise ConfigError("resume", f"`resume` must be a zoo name, pickle, preset or run directory. "
                                        f"Received: {self.resume!r}")
        _integer(self, "freezed", 0, 100_000)
        _integer(self, "num_fp16_res", 0, 16, optional=True)
        if self.num_fp16_res and (self.fp32 or self.architecture != "stylegan2"):
            why = ("`fp32` is set" if self.fp32 else
                   f"architecture is {self.architecture!r} (NVIDIA's float16 recipe is StyleGAN2's)")
            raise ConfigError("num_fp16_res", f"`num_fp16_res` {self.num_fp16_res} asks for float16 but {why}")
        if self.freeze_g is not None:
            _choice(self, "freeze_g", FREEZE_G)
            if self.freeze_g == "coarse" and self.architecture == "stylegan3":
                raise ConfigError("freeze_g", "`freeze_g` 'coarse' freezes StyleGAN and StyleGAN2 blocks; a StyleGAN3 "
                                              "generator has none (its layers share one size): use 'mapping'")
        kwargs = self.network_kwargs
        if kwargs is not None and (not isinstance(kwargs, dict) or set(kwargs) - set(NETWORK_KWARGS)
                                   or not all(isinstance(v, dict) for v in kwargs.values())):
            raise ConfigError("network_kwargs", "`network_kwargs` must be {'generator': {...}, 'discriminator': "
                                                f"{{...}}}}. Received: {kwargs!r}")
        _number(self, "lod_transition_kimg", 0, MAX_KIMG)
        for name in ("batch_table", "learning_rate_table"):
            table = getattr(self, name)
            if table is None:
                continue
            if not isinstance(table, dict) or not table:
                raise ConfigError(name, f"`{name}` must be a non-empty {{resolution: value}} dict. Received: {table!r}")
            for key, value in table.items():
                ok = str(key).isdigit() and isinstance(value, numbers.Real) and not isinstance(value, bool) and \
                    math.isfinite(value) and value > 0 and (name != "batch_table" or float(value).is_integer())
                if not ok:
                    raise ConfigError(name, f"`{name}` entry {key!r}: {value!r} is not a positive "
                                            f"{'integer' if name == 'batch_table' else 'number'}")

    # ---- presets -----------------------------------------------------------------------------

    def resolve(self, resolution=None, channels=None, num_classes=0, replicas=1, gpu=False, num_images=None):
        """The config with every preset option filled for this data and these devices.

        Args:
            resolution: the data's training resolution (default: `self.resolution`).
            channels: the data's channels (used when `self.channels` is `None`).
            num_classes: the data's classes (used when `conditional`).
            replicas: devices the batch is split over (NVIDIA's `--gpus` in the `auto` formula).
            gpu: whether a GPU is visible (chooses `auto` over `cpu` when `cfg` is `None`).
            num_images: the data's size (checks `clusters`; `None`: not checked).
        """
        cfg = self.cfg or ("auto" if gpu else "cpu")
        resolution = tuple(resolution or self.resolution)
        side = max(resolution)
        stylegan2 = self.architecture == "stylegan2"
        stylegan3 = self.architecture == "stylegan3"
        if stylegan3:
            spec = _stylegan3_preset("t" if cfg == "auto" else cfg, side)
        elif not stylegan2:
            spec = dict(batch=None, mbstd=4, cbase=16384, cmax=512, lr=None, gamma=10.0, ema=10.0, ramp=None, map=8)
            if cfg == "cpu":
                spec.update(cbase=4096, cmax=128, map=2, zdim=256)
        elif cfg == "auto":
            spec = _auto_preset(side, replicas)
        elif cfg == "cpu":
            spec = _cpu_preset(side)
        else:
            spec = dict(_NVIDIA_PRESETS[cfg])
        cifar = cfg == "cifar"
        clusters = self.clusters
        if clusters is None:  # the preset's, for an unconditional model trained from scratch
            clusters = 0 if self.conditional or self.resume is not None else spec.get("clusters", 0)
            if num_images is not None:
                clusters = min(clusters, num_images // CLUSTER_MIN_IMAGES)
            clusters = clusters if clusters >= 2 else 0
        if num_images is not None and clusters > num_images:
            raise ConfigError("clusters", f"`clusters` {clusters} is more than the {num_images} images")
        values = dict(
            cfg=cfg, resolution=resolution, channels=self.channels or channels, clusters=clusters,
            num_classes=clusters or (int(num_classes) if self.conditional else 0),
            batch_size=self.batch_size if self.batch_size is not None else spec["batch"],
            r1_gamma=self.r1_gamma if self.r1_gamma is not None else round(spec["gamma"], 10),
            r1_interval=self.r1_interval or (1 if self.architecture == "stylegan" else 16),
            pl_weight=self.pl_weight if self.pl_weight is not None else
            spec.get("pl", 0.0 if cifar or not stylegan2 else 2.0),
            channel_base=self.channel_base or spec["cbase"], channel_max=self.channel_max or spec.get("cmax", 512),
            mapping_layers=self.mapping_layers or spec["map"], z_dim=self.z_dim or spec.get("zdim", 512),
            w_dim=self.w_dim or spec.get("zdim", 512),
            num_fp16_res=self.num_fp16_res if self.num_fp16_res is not None else
            (4 if gpu and stylegan2 and not self.fp32 else 0),
            conv_clamp=self.conv_clamp if self.conv_clamp is not None else
            (None if self.architecture == "stylegan" else 256.0),
            d_block_architecture=self.d_block_architecture or ("orig" if cifar else "resnet"),
            mbstd_group_size=self.mbstd_group_size if self.mbstd_group_size is not None else spec["mbstd"],
            ema_kimg=self.ema_kimg if self.ema_kimg is not None else spec["ema"],
            ema_rampup=self.ema_rampup if self.ema_rampup is not None else spec["ramp"],
            style_mixing_prob=self.style_mixing_prob if self.style_mixing_prob is not None else
            spec.get("mix", 0.0 if cifar else 0.9),
            learning_rate=self.learning_rate if self.learning_rate is not None else spec["lr"],
        )
        if "dlr_ratio" in spec and self.d_learning_rate is None:
            values.update(d_learning_rate=values["learning_rate"] * spec["dlr_ratio"])
        if stylegan3:
            values.update(
                d_learning_rate=self.d_learning_rate if self.d_learning_rate is not None else spec["dlr"],
                # NVIDIA turns the blur off when it resumes from a pickle (fine-tuning).
                blur_sigma=self.blur_sigma if self.blur_sigma is not None else 0.0 if self.resume else spec["blur"],
                blur_fade_kimg=self.blur_fade_kimg if self.blur_fade_kimg is not None else
                values["batch_size"] * BLUR_FADE_KIMG / 32,
            )
        if self.architecture == "stylegan":
            probe = Schedule(resolution, progressive=True, lod_initial_resolution=self.lod_initial_resolution,
                             batch_size=1)
            sides = probe.sides_used()
            if values["batch_size"] is None and self.batch_table is None:
                values["batch_table"] = {side: STYLEGAN_MINIBATCH.get(side, STYLEGAN_MINIBATCH_BASE) for side in sides}
            if values["learning_rate"] is None and self.learning_rate_table is None:
                values["learning_rate_table"] = {side: STYLEGAN_LEARNING_RATE.get(side, STYLEGAN_LEARNING_RATE_BASE)
                                                 for side in sides}
        if self.class_groups and not values["num_classes"]:
            raise ConfigError("class_groups", "`class_groups` groups a batch by class: it needs a conditional run "
                                              "(`conditional` with labelled data, or `clusters`)")
        if self.class_groups and not values["mbstd_group_size"]:
            raise ConfigError("class_groups", "`class_groups` fills the minibatch-stddev groups: it needs "
                                              "`mbstd_group_size` above 0")
        resolved = dataclasses.replace(self, **values)
        resolved.schedule(replicas)  # the minibatch sizes the run will use must split over the replicas
        return resolved

    @property
    def resolved(self):
        """Whether every preset option is filled (`resolve` was called)."""
        return self.cfg is not None and self.r1_gamma is not None and self.channel_base is not None

    def schedule(self, replicas=1):
        """The run's `Schedule` (a resolved config); checks the minibatch sizes it will use."""
        table = {int(k): int(v) for k, v in (self.batch_table or {}).items()}
        lr_table = {int(k): float(v) for k, v in (self.learning_rate_table or {}).items()}
        schedule = Schedule(self.resolution, progressive=self.architecture == "stylegan",
                            lod_initial_resolution=self.lod_initial_resolution,
                            lod_training_kimg=self.lod_training_kimg, lod_transition_kimg=self.lod_transition_kimg,
                            batch_size=self.batch_size if not table else None, batch_table=table,
                            learning_rate=self.learning_rate if not lr_table else None,
                            learning_rate_table=lr_table, replicas=replicas)
        group = self.mbstd_group_size if self.mbstd_group_size is not None else 4
        for side, batch in schedule.used_batch_sizes().items():
            if batch < 1:
                raise ConfigError("batch_size", f"the minibatch at {side} px is smaller than the {replicas} devices "
                                                "it is split over")
            local = batch // replicas
            if group and local % min(group, local):
                raise ConfigError("mbstd_group_size", f"`mbstd_group_size` must be 0 (off) or divide the batch "
                                                      f"size {local} (at {side} px). Received: {group}")
        return schedule

    # ---- JSON --------------------------------------------------------------------------------

    def to_json(self):
        """A JSON-ready dict (`training_options.json`)."""
        values = dataclasses.asdict(self)
        values["resolution"] = list(self.resolution)
        for name in ("batch_table", "learning_rate_table"):
            if values[name] is not None:
                values[name] = {str(k): v for k, v in sorted(values[name].items(), key=lambda kv: int(kv[0]))}
        return values

    @classmethod
    def from_json(cls, values):
        """A config from `to_json`'s dict, or from the `training_options.json` of an earlier version
        (its options keep the values those runs trained with; unknown keys are ignored)."""
        if not isinstance(values, dict):
            raise ConfigError("training_options", "training options must be a JSON object")
        names = {field.name for field in dataclasses.fields(cls)}
        values = with_renamed_keys(values, TRAINING_RENAMED_KEYWORDS)  # runs of earlier versions
        known = {k: v for k, v in values.items() if k in names}
        if "cfg" not in values:  # written before TrainingConfig: what those runs used
            known["cfg"] = "legacy"
            known.setdefault("conditional", bool(values.get("num_classes")))
            known.setdefault("mbstd_group_size", 4)
            known.setdefault("r1_interval", 16 if values.get("architecture", "stylegan2") == "stylegan2" else 1)
            known.setdefault("d_block_architecture", "resnet")
            known.setdefault("conv_clamp", None)
            if values.get("batch_schedule"):
                known["batch_table"] = {int(k): int(v) for k, v in values["batch_schedule"].items()}
            if known.get("learning_rate") is None:
                known["learning_rate"] = 0.0025 if values.get("architecture", "stylegan2") == "stylegan2" else 0.001
        network_kwargs = known.get("network_kwargs")
        if isinstance(network_kwargs, dict) and isinstance(network_kwargs.get("generator"), dict):
            generator_kwargs = with_renamed_keys(network_kwargs["generator"], GENERATOR_RENAMED_KEYWORDS)
            known["network_kwargs"] = dict(network_kwargs, generator=generator_kwargs)  # runs of earlier versions
        for name in ("batch_table", "learning_rate_table"):
            if isinstance(known.get(name), dict):
                known[name] = {int(k) if str(k).isdigit() else k: v for k, v in known[name].items()}
        legacy = known.get("cfg") == "legacy"
        if legacy:
            known["cfg"] = None
        config = cls(**known)
        if legacy:
            object.__setattr__(config, "cfg", "legacy")
        if config.clusters is None and config.resolved:  # a run from before self-conditioning
            object.__setattr__(config, "clusters", 0)
        return config

    def replace(self, **changes):
        """A copy with some options changed (unknown names refused)."""
        changes = renamed_options(changes)
        names = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ConfigError(unknown[0], f"unknown training option {unknown[0]!r}")
        return dataclasses.replace(self, **changes)

    def describe(self):
        """One line of the settings that matter most, for the start of a run."""
        lr = (f"{self.learning_rate:g}" if self.learning_rate is not None else
              "/".join(f"{v:g}" for v in (self.learning_rate_table or {}).values()) + " by resolution")
        batch = (f"{self.batch_size}" if not self.batch_table else
                 "/".join(str(v) for v in self.batch_table.values()) + " by resolution")
        kind = f"-{self.cfg}" if self.architecture == "stylegan3" and self.cfg in ("t", "r") else ""
        return (f"{self.architecture}{kind} {'x'.join(map(str, self.resolution[::-1]))} channels={self.channels} "
                f"batch={batch} lr={lr} gamma={self.r1_gamma:g} ema={self.ema_kimg:g}kimg "
                f"channel_base={self.channel_base} channel_max={self.channel_max} map={self.mapping_layers} "
                f"z/w={self.z_dim}/{self.w_dim} mbstd={self.mbstd_group_size} conv_clamp={self.conv_clamp} "
                f"aug={self.augment}{'/' + self.augpipe if self.augment != 'none' else ''}"
                + (f" clusters={self.clusters}" if self.clusters else "")
                + (" class_groups" if self.class_groups else "")
                + (f" ms={self.mode_seeking_weight:g}" if self.mode_seeking_weight else "")
                + (f" fp16_res={self.num_fp16_res}" if self.num_fp16_res else "")
                + (f" freezed={self.freezed}" if self.freezed else "")
                + (f" freeze_g={self.freeze_g}" if self.freeze_g else "")
                + (f" d_lr={self.d_learning_rate:g}" if self.d_learning_rate is not None else "")
                + (f" blur={self.blur_sigma:g}/{self.blur_fade_kimg:g}kimg" if self.blur_sigma else "")
                + ("" if self.loss == "logistic" else f" loss={self.loss}"))


def renamed_options(options, stacklevel=4):
    """`options` (field -> value) with the old names of renamed fields replaced, each with a `DeprecationWarning`.

    Example:
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     renamed_options({"d_architecture": "orig"})
    {'d_block_architecture': 'orig'}
    """
    options = dict(options)
    for old, new in TRAINING_RENAMED_KEYWORDS.items():
        if old in options:
            options[new] = renamed_keyword(options, old, new, options.get(new), "TrainingConfig",
                                           stacklevel=stacklevel)
    return options


_dataclass_init = TrainingConfig.__init__


@functools.wraps(_dataclass_init)
def _init_with_old_names(self, *args, **kwargs):
    _dataclass_init(self, *args, **renamed_options(kwargs))


TrainingConfig.__init__ = _init_with_old_names  # `TrainingConfig(d_architecture=...)` still works, with a warning


def changed_options(stored, requested, names):
    """The names among `names` whose requested value differs from the stored run's."""
    changed = []
    for name in names:
        old, new = getattr(stored, name), getattr(requested, name)
        if isinstance(old, dict) or isinstance(new, dict):
            old = {int(k): v for k, v in (old or {}).items()}
            new = {int(k): v for k, v in (new or {}).items()}
        if old != new:
            changed.append(name)
    return changed


def _augment_pipelines():
    """NVIDIA's pipeline names if `augment.py` exports them (`PIPELINES`), else `None` (not checked)."""
    try:
        from keras_stylegan.training import augment
    except ImportError:  # pragma: no cover
        return None
    pipelines = getattr(augment, "PIPELINES", None)
    return tuple(pipelines) if pipelines else None


def _choice(config, name, choices):
    value = getattr(config, name)
    if value not in choices:
        raise ConfigError(name, f"`{name}` must be one of {', '.join(choices)}. Received: {value!r}")


def _flag(config, name):
    if not isinstance(getattr(config, name), bool):
        raise ConfigError(name, f"`{name}` must be True or False. Received: {getattr(config, name)!r}")


def _number(config, name, low, high, low_open=False, optional=False):
    value = getattr(config, name)
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(name, f"`{name}` must be a number. Received: {value!r}")
    bound = f"> {low:g}" if low_open else f">= {low:g}"
    if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
        raise ConfigError(name, f"`{name}` must be a finite number {bound} and <= {high:g}. Received: {value!r}")
    object.__setattr__(config, name, float(value))


def _integer(config, name, low, high, optional=False):
    value = getattr(config, name)
    if value is None and optional:
        return
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(name, f"`{name}` must be an integer. Received: {value!r}")
    if not low <= value <= high:
        raise ConfigError(name, f"`{name}` must be from {low} to {high}. Received: {value!r}")
    object.__setattr__(config, name, int(value))
