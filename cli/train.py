"""`kstylegan train`: train or resume a StyleGAN run.

Every training option is one row of `OPTIONS`: NVIDIA's flag name (stylegan2-ada-pytorch's
`train.py` where it has one), the `TrainingConfig` field it sets, its type and its help.
Defaults and validation live in `TrainingConfig`; a flag the user did not give is not passed,
so the preset (`--cfg`) decides, and a resumed run compares only what was given.
"""
import sys

import click
from click.core import ParameterSource

from keras_stylegan.cli.common import OneLineCommand, one_line_errors

_CHOICES = dict(
    cfg=("auto", "stylegan2", "paper256", "paper512", "paper1024", "cifar", "cpu", "t", "r"),
    architecture=("stylegan2", "stylegan", "stylegan3"), loss=("logistic", "wgan-gp", "r3gan"),
    augment=("ada", "fixed", "none"), fit=("crop", "resize"), d_block_architecture=("resnet", "skip", "orig"),
    freeze_g=("mapping", "coarse"),
)

# (flag, TrainingConfig field, type, help). "flag" types are on/off switches.
OPTIONS = [
    ("--cfg", "cfg", click.Choice(_CHOICES["cfg"]),
     "Preset (NVIDIA's stylegan2-ada presets, or cpu; StyleGAN3: t or r, NVIDIA's stylegan3-t/-r) "
     "[default: auto with a GPU, else cpu]."),
    ("--arch", "architecture", click.Choice(_CHOICES["architecture"]),
     "StyleGAN2, StyleGAN (2019) with progressive growing, or StyleGAN3 (alias-free, --cfg t|r) "
     "[default: stylegan2]."),
    ("--resolution", "resolution", click.STRING, "Training size: 32 or WxH such as 64x32 [default: 32]."),
    ("--channels", "channels", click.INT, "1 gray, 2 gray+alpha, 3 RGB, 4 RGBA [default: the data's]."),
    ("--cond", "conditional", "flag", "Condition on the labels of the data's dataset.json."),
    ("--clusters", "clusters", click.INT, "Self-conditioning: condition on this many k-means clusters of the data, "
                                          "0 off [default: --cfg cpu 32 for an unconditional model from scratch, "
                                          "fewer below 64 images per cluster; other presets 0]."),
    ("--mirror", "xflip", "flag", "Mirror half of the reals left-right."),
    ("--fp32", "fp32", "flag", "No float16 (NVIDIA's --fp32). StyleGAN2 runs float16 in the 4 highest resolutions "
                               "of G and D when a GPU is visible, as NVIDIA."),
    ("--fp16-res", "num_fp16_res", click.INT,
     "StyleGAN2: float16 in this many highest resolutions of G and D [default: 4 with a GPU, else 0]."),
    ("--kimg", "kimg", click.FLOAT, "Total thousands of real images to show [default: 1000]."),
    ("--batch", "batch_size", click.INT, "Global batch size [default: the preset's]."),
    ("--gamma", "r1_gamma", click.FLOAT, "R1 weight [default: the preset's; auto: 0.0002*res^2/batch]."),
    ("--r1-interval", "r1_interval", click.INT, "Lazy R1: every this many steps [default: 16 StyleGAN2, 1 StyleGAN]."),
    ("--pl-weight", "pl_weight", click.FLOAT, "Path-length weight [default: 2 StyleGAN2, 0 cifar and StyleGAN]."),
    ("--ms-weight", "mode_seeking_weight", click.FLOAT,
     "Mode-seeking term in G's loss (MSGAN), against mode collapse [default: 0]."),
    ("--lr", "learning_rate", click.FLOAT, "Learning rate [default: the preset's; StyleGAN: by resolution]."),
    ("--dlr", "d_learning_rate", click.FLOAT,
     "D learning rate, if not --lr [default: StyleGAN3 0.002, cpu preset half of --lr, else --lr]."),
    ("--blur-sigma", "blur_sigma", click.FLOAT,
     "Blur D's inputs, starting at this sigma (StyleGAN3) [default: 10 for --cfg r, else 0; 0 with --resume]."),
    ("--blur-kimg", "blur_fade_kimg", click.FLOAT, "kimg over which the blur fades out [default: batch*200/32]."),
    ("--loss", "loss", click.Choice(_CHOICES["loss"]),
     "Loss: logistic (non-saturating + R1), wgan-gp, or r3gan (relativistic pairing + R1 + R2, both at --gamma) "
     "[default: logistic]."),
    ("--cbase", "channel_base", click.INT, "Channel base (channels = min(cbase / res, cmax)) [default: the preset's]."),
    ("--cmax", "channel_max", click.INT, "Maximum channels per layer [default: the preset's]."),
    ("--map", "mapping_layers", click.INT, "Mapping layers [default: the preset's]."),
    ("--zdim", "z_dim", click.INT, "Latent width [default: the preset's]."),
    ("--wdim", "w_dim", click.INT, "Intermediate latent width [default: the preset's]."),
    ("--clamp", "conv_clamp", click.FLOAT, "Activation clamp [default: 256 StyleGAN2, none StyleGAN]."),
    ("--d-block", "d_block_architecture", click.Choice(_CHOICES["d_block_architecture"]),
     "StyleGAN2 discriminator block architecture [default: resnet; cifar: orig]."),
    ("--mbstd", "mbstd_group_size", click.INT, "Minibatch-stddev group size, 0 off [default: the preset's]."),
    ("--class-groups", "class_groups", "flag",
     "Conditional runs: each minibatch-stddev group holds one class, so D sees the variety within a class."),
    ("--ema", "ema_kimg", click.FLOAT, "Generator EMA half-life in kimg [default: the preset's]."),
    ("--ema-rampup", "ema_rampup", click.FLOAT, "EMA rampup ratio [default: the preset's]."),
    ("--mix", "style_mixing_prob", click.FLOAT, "Style-mixing probability [default: 0.9; cifar: 0]."),
    ("--aug", "augment", click.Choice(_CHOICES["augment"]),
     "Discriminator augmentation: adaptive, fixed probability (--p), or none [default: ada]."),
    ("--augpipe", "augpipe", click.STRING, "Augmentation pipeline: NVIDIA's presets blit, geom, color, bgc, "
                                           "bgcf, bgcfn, bgcfnc, ... [default: bgc]."),
    ("--p", "augment_p", click.FLOAT, "Augmentation probability (fixed, or ADA's starting value) [default: 0]."),
    ("--target", "ada_target", click.FLOAT, "ADA target [default: 0.6]."),
    ("--ada-kimg", "ada_kimg", click.FLOAT, "ADA speed: kimg for p to go from 0 to 1 [default: 500]."),
    ("--fit", "fit", click.Choice(_CHOICES["fit"]), "Fit images to the resolution by crop or resize [default: crop]."),
    ("--tick", "tick_kimg", click.FLOAT, "kimg per tick (stats, sample grid, checkpoint) [default: 4]."),
    ("--snap", "snapshot_ticks", click.INT, "Network snapshot every this many ticks and at the end [default: 10]."),
    ("--lod-kimg", "lod_training_kimg", click.FLOAT,
     "StyleGAN: kimg stabilizing each resolution (and fading it in, unless --lod-fade-kimg) [default: 600]."),
    ("--lod-fade-kimg", "lod_transition_kimg", click.FLOAT,
     "StyleGAN: kimg fading in each resolution [default: --lod-kimg]."),
    ("--lod-start", "lod_initial_resolution", click.INT, "StyleGAN: resolution growing starts at [default: 8]."),
    ("--seed", "seed", click.INT, "Seed of initialization, data order and every random stream [default: 0]."),
    ("--resume", "resume", click.STRING,
     "Start a new run from a model: zoo name, NVIDIA .pkl, .keras, preset or run directory (its architecture, "
     "widths, resolution and channels; --resolution/--channels adapt it)."),
    ("--freezed", "freezed", click.INT,
     "Freeze-D: D's first N layers from the top resolution are not trained (NVIDIA's) [default: 0]."),
    ("--freeze-g", "freeze_g", click.Choice(_CHOICES["freeze_g"]),
     "Do not train G's mapping network, or its coarse (4x4 and 8x8) blocks."),
]
# Old flags (issue 20's one vocabulary) -> the flags that replaced them; still accepted, with a warning.
RENAMED_FLAGS = {"--d-arch": "--d-block"}
FLAGS = {field: flag for flag, field, _, _ in OPTIONS}
_ROWS = {flag.lstrip("-"): (field, kind) for flag, field, kind, _ in OPTIONS}
_ROWS.update({field: (field, kind) for _, field, kind, _ in OPTIONS})
_ROWS.update({old.lstrip("-"): _ROWS[new.lstrip("-")] for old, new in RENAMED_FLAGS.items()})
_ROWS.update({"d_architecture": _ROWS["d_block_architecture"]})  # the old field name, in --override


def _param_name(field):
    return "opt_" + field


def _old_param_name(flag):
    return "old_" + flag.lstrip("-").replace("-", "_")


def _add_options(function):
    for old, new in RENAMED_FLAGS.items():
        kind = _ROWS[new.lstrip("-")][1]
        function = click.option(old, _old_param_name(old), type=kind, default=None, hidden=True)(function)
    for flag, field, kind, help_text in reversed(OPTIONS):
        if kind == "flag":
            function = click.option(flag, _param_name(field), is_flag=True, default=False, help=help_text)(function)
        else:
            function = click.option(flag, _param_name(field), type=kind, default=None, help=help_text)(function)
    return function


def parse_override(text, ctx=None):
    """`"lr=0.001"` -> `("learning_rate", 0.001)`, by the flag's (or field's) row of `OPTIONS`."""
    name, sep, value = text.partition("=")
    name = name.strip().lstrip("-")
    if not sep or name not in _ROWS:
        raise ValueError(f"--override takes OPTION=VALUE with an option of this command (e.g. lr=0.001). "
                         f"Received: {text!r}")
    field, kind = _ROWS[name]
    if kind == "flag":
        lowered = value.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            raise ValueError(f"--override {name} takes true or false. Received: {value!r}")
        return field, lowered in ("true", "1", "yes", "on")
    try:
        return field, kind.convert(value, None, ctx)
    except click.BadParameter as error:
        raise ValueError(f"--override {name}: {error.format_message()}") from None


def _flag_message(error):
    """A `TrainingConfig` message with its field names replaced by this command's flags."""
    message = str(error)
    for field, flag in FLAGS.items():
        message = message.replace(f"`{field}`", flag)
    return message


@click.command("train", cls=OneLineCommand)
@click.option("--data", required=True, type=click.Path(), help="Folder, .zip, .npz or .npy of images.")
@click.option("--outdir", required=True, type=click.Path(), help="Run directory (an existing run is resumed).")
@_add_options
@click.option("--override", "overrides", multiple=True, metavar="OPTION=VALUE",
              help="Change an option of a resumed run on purpose, e.g. --override lr=0.001 (repeatable).")
@click.option("--strategy", type=click.Choice(["none", "mirrored", "multiworker"]), default="none",
              show_default=True, help="Several devices (mirrored) or machines (multiworker, from TF_CONFIG).")
@click.pass_context
@one_line_errors
def train_command(ctx, data, outdir, overrides, strategy, **params):
    """Train a StyleGAN on a folder or zip of images; rerun on the same --outdir to resume.

    Example: kstylegan train --data emoji64.zip --outdir runs/emoji --resolution 32 --channels 4 --kimg 300

    Fine-tuning: kstylegan train --data faces/ --outdir runs/faces --resume stylegan2-ada-ffhq-1024 --freezed 4
    """
    import os

    from keras_stylegan.training.backend_check import check_training_backend

    check_training_backend()  # before any TensorFlow-only import

    given = {}
    for _, field, _, _ in OPTIONS:
        source = ctx.get_parameter_source(_param_name(field))
        if source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            given[field] = params[_param_name(field)]
    for old, new in RENAMED_FLAGS.items():
        if ctx.get_parameter_source(_old_param_name(old)) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            field = _ROWS[new.lstrip("-")][0]
            value = params[_old_param_name(old)]
            if field in given and given[field] != value:
                raise ValueError(f"{old} is the old name of {new}; pass one of them")
            click.echo(f"Warning: {old} is deprecated; use {new}.", err=True)
            given[field] = value
    if "lod_training_kimg" in given and "lod_transition_kimg" not in given:
        given["lod_transition_kimg"] = given["lod_training_kimg"]
    override = dict(parse_override(text, ctx) for text in overrides)
    from keras_stylegan.training.config import ConfigError, TrainingConfig

    try:
        TrainingConfig(**given).replace(**override)  # every value checked before any data is read
    except ConfigError as error:
        raise ValueError(_flag_message(error)) from None
    if not os.path.exists(data):
        raise ValueError(f"--data not found: {data}")
    from keras_stylegan.training.run import ResumeMismatch, TrainingError, train

    try:
        train(data, outdir, strategy=strategy, override=override, verbose=1 if sys.stdout.isatty() else 2,
              **given)  # only the flags given: a resumed run compares exactly those
    except ResumeMismatch as error:
        changed = ", ".join(f"{FLAGS.get(name, name)} {old!r} -> {new!r}" for name, old, new in error.changes)
        how = " ".join(f"--override {FLAGS.get(name, name).lstrip('-')}={_cli_value(new)}"
                       for name, _, new in error.changes)
        raise ValueError(f"{error.outdir} trained with other options ({changed}): add {how} to change them on "
                         "purpose, or use another --outdir") from None
    except ConfigError as error:
        raise ValueError(_flag_message(error)) from None
    except TrainingError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)


def _cli_value(value):
    if isinstance(value, (list, tuple)):
        return "x".join(str(v) for v in value[::-1])
    return str(value).lower() if isinstance(value, bool) else str(value)
