"""Fine-tuning: start a new run from the weights of another model, and freeze parts of it.

`load_source` reads what `train(..., resume=SOURCE)` starts from: a zoo card, an NVIDIA pickle
(either official format), a `.keras` generator, a preset directory (our snapshots are presets)
or a run directory of ours (its last checkpoint: G, G_ema and D). `source_settings` turns it into
the `TrainingConfig` fields the new run must use (architecture, widths, mapping depth, resolution,
channels), so no preset default can disagree with the weights. `transfer` then copies the
weights into the new run's networks, adapting what differs:

- **Channels** (any of 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA to any other): G's ToRGB layers map
  the old output to the new one (RGB -> gray: ITU-R 601 luma weights of the RGB outputs, as the
  data reader converts images; gray -> RGB: the gray output repeated; an added alpha starts
  opaque: zero weights and +1 from the ToRGB that writes the final image). D's FromRGB layers read
  the new image as the old D would have read it converted (gray -> RGB repeats it, RGB -> gray is
  its luma, a dropped alpha is read as opaque, an added alpha is ignored at first).
- **Resolution**: blocks are matched from the 4x4 base up. A smaller model drops the top
  blocks; a larger one gets fresh top blocks, and in a StyleGAN2 'skip' generator their ToRGB
  starts at zero, so the first images are the old model's, upsampled. D's new top block gets a
  fresh FromRGB.
- **Aspect ratio** (a non-square run from a square model): the blocks' weights do not depend on
  the image shape, except G's constant input, the stored noise maps and D's last dense layer,
  which are cropped (or edge-padded) around their centre.

A StyleGAN3 source (NVIDIA's stylegan3 pickles, or our own StyleGAN3 runs and presets) trains with
its config (T or R) and at its own resolution and channel count: its layers are designed for their
sampling rates and sizes, so there is no block to add or drop, and the weights are copied as they are
(the Fourier features' frequencies and phases and each layer's `magnitude_ema` included).

Freezing (`freeze_layers`): `freezed=N` freezes D's first N layers counted from the top
resolution, NVIDIA's `--freezed` (stylegan2-ada-pytorch counts each block's FromRGB, conv0, conv1
and skip; the last 4x4 block and the label mapping are never frozen). `freeze_g="mapping"`
freezes G's mapping network, `"coarse"` its 4x4 and 8x8 synthesis blocks (the "coarse styles"
of the StyleGAN paper).
"""
import json
import os

import numpy as np

from keras_stylegan.utils.shapes import block_name, block_shapes, format_resolution

FREEZE_G = ("mapping", "coarse")
COARSE_SIDE = 8  # the coarse styles: synthesis blocks up to 8x8 (Karras et al. 2019, section 3.1)
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as keras_stylegan.data converts RGB images to gray

# Generator / Discriminator arguments a TrainingConfig does not hold, and the value build_gan uses.
_G_EXTRAS = dict(block_architecture="skip", mapping_lr_multiplier=0.01, resample_filter=None,
                 fused_scale="auto", w_avg_beta=0.995)
_D_EXTRAS = dict(mbstd_num_channels=1, mapping_layers=8, mapping_lr_multiplier=0.01, resample_filter=None)


class FineTuneSource:
    """The networks a fine-tuning run starts from.

    Attributes:
        generator: the training generator (`G`; a copy of `generator_ema` when the source has none).
        generator_ema: the EMA generator (`G_ema`, the one published models are).
        discriminator: `D`, or `None` when the source has none (the new run's D starts fresh).
        source: what was asked for; kind: `"card"`, `"pickle"`, `"keras"`, `"preset"` or `"run"`.
        has_training_generator: whether `generator` is the source's own G (not a copy of G_ema).
    """

    def __init__(self, source, kind, generator_ema, discriminator=None, generator=None):
        self.source, self.kind = str(source), kind
        self.generator_ema = generator_ema
        self.discriminator = discriminator
        self.has_training_generator = generator is not None
        self.generator = generator if generator is not None else _copy_generator(generator_ema)

    def describe(self):
        """What was loaded, in a few words."""
        g = "G, G_ema" if self.has_training_generator else "G_ema (also as G)"
        d = " and D" if self.discriminator is not None else ""
        g_ema = self.generator_ema
        name = g_ema.architecture + (f"-{g_ema.block_architecture}" if g_ema.architecture == "stylegan3" else "")
        return (f"{g}{d} from {self.kind} {self.source} ({name} "
                f"{format_resolution(g_ema.resolution)}, {g_ema.channels} channels)")


def _copy_generator(generator):
    copy = generator.__class__.from_config(generator.get_config())
    copy.set_weights(generator.get_weights())
    return copy


def _not_a_model(source, why):
    return ValueError(f"--resume {source} is not a model this library can train from: {why}")


def load_source(source):
    """Reads a fine-tuning source (see the module docstring); raises `ValueError` in one line.

    Example:
    >>> start = load_source("emoji")
    >>> start.generator_ema.resolution, start.discriminator is not None
    ((32, 32), True)
    """
    text = os.fspath(source)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"--resume needs a zoo name, pickle, preset or run directory. Received: {source!r}")
    try:
        if os.path.isdir(text):
            start = _from_directory(text)
        elif os.path.exists(text):
            start = _from_file(text)
        else:
            start = _from_card(text)
    except ValueError as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if message.startswith("--resume"):
            raise
        raise _not_a_model(text, message) from None
    except (OSError, KeyError, EOFError) as error:
        raise _not_a_model(text, f"{type(error).__name__}: {str(error)[:200]}") from None
    return start


def _from_directory(path):
    from keras_stylegan.training.checkpoint import CHECKPOINT_FILE
    from keras_stylegan.zoo import presets

    options = os.path.join(path, "training_options.json")
    if os.path.isfile(options):
        checkpoint = os.path.join(path, CHECKPOINT_FILE)
        if os.path.isfile(checkpoint):
            return _from_run(path, options, checkpoint)
        from keras_stylegan.training.run import list_snapshots

        snapshots = list_snapshots(path)
        if not snapshots:
            raise ValueError(f"{path} is a run directory with no checkpoint or snapshot yet")
        path = snapshots[-1][1]
    if not presets.is_preset_dir(path):
        raise ValueError(f"{path} is a directory but neither a run directory nor a preset (no config.json)")
    g, d, _ = presets.load_preset(path, discriminator=presets.has_discriminator(path))
    return FineTuneSource(path, "preset", g, d)


def _from_run(path, options, checkpoint):
    from keras_stylegan.training.checkpoint import load_checkpoint
    from keras_stylegan.training.config import TrainingConfig
    from keras_stylegan.training.run import build_gan

    with open(options) as f:
        try:
            config = TrainingConfig.from_json(json.load(f))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as error:
            raise ValueError(f"{options} is not a training-options file: {error}") from None
    gan = build_gan(config)
    gan.compile()
    load_checkpoint(checkpoint, gan)
    return FineTuneSource(path, "run", gan.generator_ema, gan.discriminator, gan.generator)


def _from_file(path):
    if path.endswith(".keras"):
        from keras_stylegan.zoo import load

        return FineTuneSource(path, "keras", load(path))
    from keras_stylegan.zoo.convert import ConversionError, convert_official
    from keras_stylegan.zoo.pickles import load_official_pickle

    try:
        data = load_official_pickle(path)
        out = convert_official(data, discriminator=True)
        nets = data["networks"]
        ema_key = "G_ema" if data["format"] == "pytorch" else "Gs"
        training_g = None
        if nets.get(ema_key) is not None and nets.get("G") is not None:
            # The training G of the pickle, through the same converter (it reads G when no G_ema is present).
            training_g = convert_official(dict(data, networks={"G": nets["G"]}), discriminator=False)["generator"]
    except ConversionError as error:
        raise ValueError(str(error)) from None
    return FineTuneSource(path, "pickle", out["generator"], out["discriminator"], training_g)


def _from_card(name):
    from keras_stylegan.zoo import load
    from keras_stylegan.zoo.registry import get_card, packaged_preset_path

    card = get_card(name)  # an unknown name: the registry's one-line error
    if card.source_format == "preset":
        start = _from_directory(packaged_preset_path(card))
    else:
        with_d = card.discriminator is not None
        loaded = load(card.name, discriminator=with_d)
        g, d = loaded if with_d else (loaded, None)
        start = FineTuneSource(card.name, "card", g, d)
    start.source, start.kind = card.name, "card"
    return start


# ---- settings ------------------------------------------------------------------------------


def source_settings(start):
    """The `TrainingConfig` fields the source fixes, and the network arguments it needs beyond them.

    Returns `(fields, network_kwargs)`; `network_kwargs` is `{"generator": {...}, "discriminator": {...}}`
    holding only the arguments that differ from what `build_gan` would use.
    """
    g = start.generator_ema.get_config()
    fields = dict(architecture=g["architecture"], resolution=tuple(g["resolution"]), channels=g["channels"],
                  z_dim=g["z_dim"], w_dim=g["w_dim"], mapping_layers=g["mapping_layers"],
                  channel_base=g["channel_base"], channel_max=g["channel_max"],
                  conditional=bool(g["num_classes"]))
    if g.get("conv_clamp") is not None:
        fields["conv_clamp"] = float(g["conv_clamp"])
    extras = {"generator": {k: g[k] for k, default in _G_EXTRAS.items() if g.get(k, default) != default}}
    if start.discriminator is not None:
        d = start.discriminator.get_config()
        if d["architecture"] == "stylegan2":
            fields["d_block_architecture"] = d["block_architecture"]
        extras["discriminator"] = {k: d[k] for k, default in _D_EXTRAS.items() if d.get(k, default) != default}
        if d["num_classes"] and d.get("cmap_dim") is not None:
            extras["discriminator"]["cmap_dim"] = d["cmap_dim"]
        for name in ("channel_base", "channel_max"):  # D's own widths when they differ from G's
            if d[name] != g[name]:
                extras["discriminator"][name] = d[name]
    return fields, {k: v for k, v in extras.items() if v}


# ---- weight transfer -----------------------------------------------------------------------


def _channel_maps(old, new):
    """`(M, offset)`: new output = M @ old output + offset; `(P, q)`: old input = P @ new input + q."""
    color = {1: 1, 2: 1, 3: 3, 4: 3}
    old_alpha, new_alpha = old in (2, 4), new in (2, 4)

    def color_map(src, dst):  # dst colour from src colour
        if src == dst:
            return np.eye(dst)
        if src == 3:
            return np.array([LUMA])  # RGB -> gray: luma
        return np.ones((3, 1))  # gray -> RGB: repeated

    def full(src_c, dst_c, src_alpha, dst_alpha):
        matrix = np.zeros((dst_c, src_c))
        offset = np.zeros(dst_c)
        cs, cd = color[src_c], color[dst_c]
        matrix[:cd, :cs] = color_map(cs, cd)
        if dst_alpha and src_alpha:
            matrix[-1, -1] = 1.0
        elif dst_alpha:
            offset[-1] = 1.0  # no alpha to read: opaque
        return matrix, offset

    return full(old, new, old_alpha, new_alpha), full(new, old, new_alpha, old_alpha)


def _crop_or_pad(value, axes, sizes):
    """`value` cropped (or edge-padded) around its centre to `sizes` along `axes`."""
    for axis, size in zip(axes, sizes):
        have = value.shape[axis]
        if have > size:
            start = (have - size) // 2
            value = np.take(value, np.arange(start, start + size), axis=axis)
        elif have < size:
            before = (size - have) // 2
            pad = [(0, 0)] * value.ndim
            pad[axis] = (before, size - have - before)
            value = np.pad(value, pad, mode="edge")
    return value


class TransferReport:
    """What `transfer` did: variables copied, adapted (how), left fresh, and old ones unused."""

    def __init__(self):
        self.copied, self.adapted, self.fresh, self.unused = 0, [], [], 0

    def summary(self):
        parts = [f"{self.copied} copied"]
        if self.adapted:
            parts.append(f"{len(self.adapted)} adapted ({', '.join(sorted(set(how for _, how in self.adapted)))})")
        if self.fresh:
            parts.append(f"{len(self.fresh)} fresh")
        if self.unused:
            parts.append(f"{self.unused} of the source unused")
        return ", ".join(parts)


def _key(variable):
    return variable.path.split("/", 1)[1]


def _block_renames(old_resolution, new_resolution):
    """`{new block name: old block name}`, blocks matched from the 4x4 base up."""
    old, new = block_shapes(tuple(old_resolution)), block_shapes(tuple(new_resolution))
    return {block_name(n): block_name(o) for n, o in zip(new, old)}


def _old_key(key, renames):
    parts = key.split("/")
    for i, part in enumerate(parts):
        if part in renames:
            parts[i] = renames[part]
            break
    return "/".join(parts)


def transfer(new, old, report=None):
    """Copies `old`'s weights into `new` (a `Generator` or `Discriminator`), adapting channels,
    resolution and aspect ratio as the module docstring says; returns a `TransferReport`.

    Example:
    >>> small = Generator(resolution=8, channels=3, z_dim=8, w_dim=8, channel_base=64, channel_max=8)
    >>> gray = Generator(resolution=8, channels=1, z_dim=8, w_dim=8, channel_base=64, channel_max=8)
    >>> transfer(gray, small).summary()
    '40 copied, 4 adapted (channels 3->1)'
    """
    from keras_stylegan.networks import Generator

    report = report or TransferReport()
    is_generator = isinstance(new, Generator)
    renames = _block_renames(old.resolution, new.resolution)
    old_vars = {_key(v): v for v in old.weights}
    used = set()
    top = block_name(block_shapes(tuple(new.resolution))[-1])
    old_top = block_name(block_shapes(tuple(old.resolution))[-1])
    old_top_twin = {o: n for n, o in renames.items()}.get(old_top)  # the new block at the old top's place
    new_keys = {_key(v) for v in new.weights}
    (out_map, out_offset), (in_map, in_offset) = _channel_maps(old.channels, new.channels)
    grown = []
    for variable in new.weights:
        key = _key(variable)
        if "seed_generator" in key or key.endswith("/lod"):
            continue
        old_key = _old_key(key, renames)
        source = old_vars.get(old_key)
        if source is None and _reads_or_writes_top(key, top) and not (
                old_top_twin and _in_block(key, old_top_twin) in new_keys):
            # Only the top block reads or writes the image ('orig', 'resnet'): the old top block's layer.
            old_key = _in_block(key, old_top)
            source = old_vars.get(old_key)
        if source is None:  # no counterpart (a new top block, or D's FromRGB at a new top): fresh
            report.fresh.append(key)
            if is_generator and key.endswith(("/torgb/kernel", "/torgb/bias")) and key.split("/")[1] not in renames:
                grown.append(variable)
            continue
        value = np.asarray(source.numpy(), np.float64)
        want = tuple(variable.shape)
        how = None
        if key.endswith(("/torgb/kernel", "/torgb/bias")) and old.channels != new.channels:
            writes_image = new.architecture == "stylegan" or key.split("/")[1] == top
            value = np.tensordot(value, out_map.T, axes=([value.ndim - 1], [0]))
            if key.endswith("/bias") and writes_image:
                value = value + out_offset
            how = f"channels {old.channels}->{new.channels}"
        elif "/fromrgb/" in key and old.channels != new.channels:
            # Equalized lr: the stored kernel is scaled at run time; work on the effective weights.
            old_layer, new_layer = _fromrgb(old, old_key), _fromrgb(new, key)
            old_kernel = np.asarray(old_layer.kernel.numpy(), np.float64) * old_layer._scale
            if key.endswith("/kernel"):
                value = np.einsum("hwoc,on->hwnc", old_kernel, in_map) / new_layer._scale
            else:  # an input the new image lacks (a dropped alpha) is read as its constant value
                value = value + np.einsum("hwoc,o->c", old_kernel, in_offset)
            how = f"channels {old.channels}->{new.channels}"
        if value.shape != want:
            if key.endswith(("/const", "/noise_const")) and value.ndim == len(want):
                value = _crop_or_pad(value, (0, 1), want[:2])
                how = how or "cropped to the new aspect ratio"
            elif not is_generator and key.endswith("fc/kernel") and value.shape[1:] == want[1:]:
                value = _resized_dense(value, old, new, want)
                how = how or "cropped to the new aspect ratio"
            else:
                report.fresh.append(key)
                continue
        variable.assign(value.astype(variable.dtype))
        used.add(old_key)
        if how:
            report.adapted.append((key, how))
        else:
            report.copied += 1
    # New top blocks of a 'skip' G start silent (the image is the old one, upsampled); their ToRGB affine
    # keeps its initialization, so the zero weights still get gradients.
    for variable in grown:
        if is_generator and new.block_architecture == "skip" and new.architecture == "stylegan2":
            variable.assign(np.zeros(variable.shape, variable.dtype))
    report.unused += len([k for k in old_vars if k not in used and "seed_generator" not in k
                          and not k.endswith("/lod")])
    return report


def _block_of(key):
    parts = key.split("/")
    return parts[1] if parts[0] == "synthesis" else parts[0]


def _reads_or_writes_top(key, top):
    return _block_of(key) == top and ("/fromrgb/" in key or "/torgb/" in key)


def _in_block(key, block):
    parts = key.split("/")
    parts[1 if parts[0] == "synthesis" else 0] = block
    return "/".join(parts)


def _fromrgb(discriminator, key):
    """The FromRGB layer of the block a variable key starts with."""
    block = key.split("/")[0]
    for layer in list(discriminator.blocks) + [discriminator.epilogue]:
        if layer.name == block:
            return layer.fromrgb
    raise KeyError(key)


def _resized_dense(value, old, new, want):
    """D's last dense layer reads `channels x h x w` features (NCHW order): cropped to the new base shape."""
    old_base, new_base = block_shapes(tuple(old.resolution))[0], block_shapes(tuple(new.resolution))[0]
    channels = value.shape[0] // (old_base[0] * old_base[1])
    grid = value.reshape(channels, old_base[0], old_base[1], value.shape[1])
    grid = _crop_or_pad(grid, (1, 2), new_base)
    # Equalized lr scales the stored kernel by 1/sqrt(fan_in): keep the effective weights.
    return grid.reshape(want) * np.sqrt(want[0] / value.shape[0])


# ---- freezing ------------------------------------------------------------------------------


def discriminator_layers(discriminator):
    """D's layers in NVIDIA's Freeze-D order: each block from the top resolution down, its FromRGB
    (if any), conv0, conv1 and skip (if any); the 4x4 epilogue and the label mapping are not counted."""
    layers = []
    for block in discriminator.blocks:  # largest first
        layers += [layer for layer in (block.fromrgb, block.conv0, block.conv1, block.skip) if layer is not None]
    return layers


def generator_layers(generator, part):
    """G's layers frozen by `freeze_g=part`: `"mapping"` or `"coarse"` (synthesis blocks up to 8x8)."""
    if part == "mapping":
        return [generator.mapping]
    if part == "coarse":
        shapes = block_shapes(tuple(generator.resolution))
        return [block for block, shape in zip(generator.synthesis.blocks, shapes) if max(shape) <= COARSE_SIDE]
    raise ValueError(f"`freeze_g` must be one of {', '.join(FREEZE_G)}. Received: {part!r}")


def freeze(gan, freezed=0, freeze_g=None):
    """Freezes D's first `freezed` layers (NVIDIA's Freeze-D) and G's `freeze_g` part (with its twin in
    the EMA generator); call before `compile`. Raises `ConfigError` if D has fewer layers.

    Example:
    >>> from keras_stylegan.training import StyleGAN
    >>> gan = StyleGAN(Generator(resolution=8, z_dim=8, w_dim=8, channel_base=32, channel_max=8, mapping_layers=2),
    ...                Discriminator(resolution=8, channel_base=32, channel_max=8))
    >>> frozen = freeze(gan, freezed=4, freeze_g="mapping")  # D's fromrgb, conv0, conv1, skip; G's and G_ema's mapping
    >>> len(frozen), gan.generator.mapping.trainable
    (6, False)
    """
    from keras_stylegan.training.config import ConfigError

    d_layers = discriminator_layers(gan.discriminator)
    if freezed > len(d_layers):
        raise ConfigError("freezed", f"`freezed` {freezed} is more than the discriminator's {len(d_layers)} layers "
                                     "(its blocks above 4x4, counted from the top resolution)")
    layers = d_layers[:freezed]
    if freeze_g:
        layers += generator_layers(gan.generator, freeze_g) + generator_layers(gan.generator_ema, freeze_g)
    gan.freeze_layers(layers)
    return layers
