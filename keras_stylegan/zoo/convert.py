"""Converts NVIDIA's official StyleGAN pickles into keras_stylegan networks, in NumPy.

Both official formats are read by `keras_stylegan.zoo.pickles` (a restricted unpickler:
no code from the pickle runs). TF1 names are first translated to stylegan2-ada-pytorch
names and layouts (as NVIDIA's own `legacy.py` does), so one table maps StyleGAN2 weights
onto our layers; StyleGAN (2019) has its own table. Our layers use TF's layout (HWIO
kernels, correlation), so PyTorch's flipped up-sampling kernels are flipped back.
"""
import math
import re
import reprlib

import numpy as np

from keras_stylegan.utils.shapes import block_name, block_shapes, channels_at, format_resolution, parse_resolution


class ConversionError(ValueError):
    """The pickle's networks do not fit the expected official structure."""


# Caps on settings read from a pickle, far above any published network; the settings are also
# checked against the pickle's tensors (`check_fits`) before any network is built.
MAX_RESOLUTION = 2**14
MAX_MAPPING_LAYERS = 64
MAX_WIDTH = 2**16  # z_dim, w_dim, cmap_dim, channel_max, minibatch-stddev settings
MAX_CHANNEL_BASE = 2**26
MAX_CLASSES = 2**20
MAX_FILTER_TAPS = 64
_REQUIRED = object()
_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxother = 2, 40, 40
_BRIEF.maxlist = _BRIEF.maxtuple = _BRIEF.maxdict = _BRIEF.maxset = 4


def brief_repr(value):
    """Settings come from the pickle: quote them briefly (an int may have more digits than Python prints)."""
    try:
        return _BRIEF.repr(value)
    except (ValueError, RecursionError):
        return f"<{type(value).__name__}>"


# ---------------------------------------------------------------------------------------------
# Layout helpers: PyTorch -> ours.


def _fc(w):  # [out, in] -> [in, out]
    return np.transpose(w)


def torch_conv_kernel(w):  # [O, I, kh, kw] -> [kh, kw, I, O]
    return np.transpose(w, (2, 3, 1, 0))


def _conv_flipped(w):  # PyTorch's up-sampling modulated convs convolve: flip back to correlation
    return torch_conv_kernel(w)[::-1, ::-1]


def _const(w):  # [C, H, W] -> [H, W, C]
    return np.transpose(w, (1, 2, 0))


def _tf_noise(w):  # [1, 1, H, W] -> [H, W]
    return w[0, 0]


def _tf_const(w):  # [1, C, H, W] -> [H, W, C]
    return np.transpose(w[0], (1, 2, 0))


# Each layout change and its inverse, so the same tables also export our weights.
_INVERSE = {
    None: lambda v: v,
    _fc: np.transpose,
    torch_conv_kernel: lambda v: np.transpose(v, (3, 2, 0, 1)),
    _conv_flipped: lambda v: np.transpose(v[::-1, ::-1], (3, 2, 0, 1)),
    _const: lambda v: np.transpose(v, (2, 0, 1)),
    _tf_noise: lambda v: v[None, None],
    _tf_const: lambda v: np.transpose(v, (2, 0, 1))[None],
}


def _assign(variable, value, name):
    value = np.asarray(value, dtype=np.float32)
    if tuple(variable.shape) != value.shape:
        raise ConversionError(f"cannot convert {name}: shape {value.shape} does not fit {tuple(variable.shape)}")
    variable.assign(value)


class WeightLoader:
    """Assigns named source arrays to variables and checks that every array was used."""

    def __init__(self, params, source):
        self.params = {k: np.asarray(v) for k, v in params.items()}
        self.source = source
        self.used = set()

    def __call__(self, variable, name, transform=None):
        if name not in self.params:
            raise ConversionError(f"{self.source}: missing {name!r}")
        value = self.params[name]
        self.used.add(name)
        _assign(variable, transform(value) if transform else value, f"{self.source}:{name}")

    def has(self, name):
        return name in self.params

    def unused(self, ignore=()):
        return sorted(k for k in self.params if k not in self.used and not any(re.fullmatch(p, k) for p in ignore))


class _Exporter:
    """Runs a table backwards: records each variable under its source name and layout."""

    def __init__(self):
        self.params = {}

    def __call__(self, variable, name, transform=None):
        self.params[name] = np.array(_INVERSE[transform](np.asarray(variable.numpy())), order="C")

    def has(self, name):
        return True


def load_fc(load, layer, prefix):
    load(layer.kernel, prefix + ".weight", _fc)
    if layer.bias is not None:
        load(layer.bias, prefix + ".bias")


def load_mapping(load, mapping, prefix="mapping"):
    if mapping.embed is not None:
        load_fc(load, mapping.embed, f"{prefix}.embed")
    for i, fc in enumerate(mapping.fcs):
        load_fc(load, fc, f"{prefix}.fc{i}")
    if mapping.num_ws is not None and load.has(f"{prefix}.w_avg"):  # NVIDIA's D mapping keeps no w_avg
        load(mapping.w_avg, f"{prefix}.w_avg")


# ---------------------------------------------------------------------------------------------
# StyleGAN2 (PyTorch names).


def load_stylegan2_generator(generator, state_dict, source="G"):
    """Assigns a stylegan2-ada-pytorch generator state dict to a `Generator`."""
    load = state_dict if isinstance(state_dict, _Exporter) else WeightLoader(state_dict, source)
    load_mapping(load, generator.mapping)
    for block in generator.synthesis.blocks:
        p = f"synthesis.{block_name(block.resolution)}"
        if block.const is not None:
            load(block.const.const, p + ".const", _const)
        for key, layer in (("conv0", block.conv0), ("conv1", block.conv1)):
            if layer is None:
                continue
            load_fc(load, layer.affine, f"{p}.{key}.affine")
            load(layer.conv.kernel, f"{p}.{key}.weight", _conv_flipped if layer.up > 1 else torch_conv_kernel)
            load(layer.noise.noise_strength, f"{p}.{key}.noise_strength")
            load(layer.noise.noise_const, f"{p}.{key}.noise_const")
            load(layer.bias, f"{p}.{key}.bias")
        if block.torgb is not None:
            load_fc(load, block.torgb.affine, f"{p}.torgb.affine")
            load(block.torgb.kernel, f"{p}.torgb.weight", torch_conv_kernel)
            load(block.torgb.bias, f"{p}.torgb.bias")
        if block.skip is not None:
            load(block.skip.kernel, f"{p}.skip.weight", torch_conv_kernel)
    return [] if isinstance(load, _Exporter) else load.unused(ignore=(r".*resample_filter",))


def load_stylegan2_discriminator(discriminator, state_dict, source="D"):
    """Assigns a stylegan2-ada-pytorch discriminator state dict to a `Discriminator`."""
    load = state_dict if isinstance(state_dict, _Exporter) else WeightLoader(state_dict, source)
    for block in discriminator.blocks:
        p = block.name
        for key in ("fromrgb", "conv0", "conv1", "skip"):
            layer = getattr(block, key)
            if layer is not None:
                load(layer.kernel, f"{p}.{key}.weight", torch_conv_kernel)
                if layer.bias is not None:
                    load(layer.bias, f"{p}.{key}.bias")
    epilogue = discriminator.epilogue
    p = epilogue.name
    for key in ("fromrgb", "conv"):
        layer = getattr(epilogue, key)
        if layer is not None:
            load(layer.kernel, f"{p}.{key}.weight", torch_conv_kernel)
            load(layer.bias, f"{p}.{key}.bias")
    load_fc(load, epilogue.fc, p + ".fc")
    load_fc(load, epilogue.out, p + ".out")
    if discriminator.mapping is not None:
        load_mapping(load, discriminator.mapping)
    return [] if isinstance(load, _Exporter) else load.unused(ignore=(r".*resample_filter",))


# ---------------------------------------------------------------------------------------------
# TF1 StyleGAN2 names -> PyTorch names (the facts NVIDIA's legacy.py encodes).


def _tf_res(name):
    return int(name.split("x")[0])


def tf_stylegan2_generator_to_torch(tf_params):
    """Renames and re-lays-out a flattened TF1 StyleGAN2 generator (`mapping/...`, `synthesis/...`)."""
    out = {}
    noise_index = {}
    for name, value in tf_params.items():
        value = np.asarray(value)
        if name == "dlatent_avg":
            out["mapping.w_avg"] = value
        elif m := re.fullmatch(r"mapping/Dense(\d+)/(weight|bias)", name):
            out[f"mapping.fc{m[1]}.{m[2]}"] = value.T if m[2] == "weight" else value
        elif m := re.fullmatch(r"mapping/LabelEmbed/(weight|bias)", name):
            out[f"mapping.embed.{m[1]}"] = value.T if m[1] == "weight" else value
        elif m := re.fullmatch(r"synthesis/noise(\d+)", name):
            noise_index[int(m[1])] = value[0, 0]
        elif m := re.fullmatch(r"synthesis/4x4/Const/const", name):
            out["synthesis.b4.const"] = value[0]
        elif m := re.fullmatch(r"synthesis/(\d+x\d+)/(Conv|Conv0_up|Conv1|ToRGB|Skip)/(\w+)", name):
            res, layer, field = _tf_res(m[1]), m[2], m[3]
            key = {"Conv": "conv1", "Conv0_up": "conv0", "Conv1": "conv1", "ToRGB": "torgb", "Skip": "skip"}[layer]
            prefix = f"synthesis.b{res}.{key}"
            if field == "weight":
                w = value[::-1, ::-1] if layer in ("Conv0_up", "Skip") else value  # legacy.py flips these
                out[prefix + ".weight"] = np.transpose(w, (3, 2, 0, 1))
            elif field == "mod_weight":
                out[prefix + ".affine.weight"] = value.T
            elif field == "mod_bias":
                out[prefix + ".affine.bias"] = value + 1  # TF stores (bias - 1)
            elif field in ("bias", "noise_strength"):
                out[f"{prefix}.{field}"] = value
            else:
                raise ConversionError(f"unexpected TF variable {name!r}")
        elif name.endswith("lod") or name.endswith("resample_filter"):
            continue
        else:
            raise ConversionError(f"unexpected TF variable {name!r}")
    # noise{k}: k = 0 for 4x4, then (Conv0_up, Conv1) for each following resolution.
    for k, value in noise_index.items():
        res = 2 ** ((k + 1) // 2 + 2)
        out[f"synthesis.b{res}.{'conv1' if k == 0 or k % 2 == 0 else 'conv0'}.noise_const"] = value
    return out


def tf_stylegan2_discriminator_to_torch(tf_params, base=4):
    out = {}
    for name, value in tf_params.items():
        value = np.asarray(value)
        if m := re.fullmatch(r"(\d+x\d+)/(FromRGB|Conv0|Conv1_down|Conv|Skip|Dense0)/(weight|bias)", name):
            res, layer, field = _tf_res(m[1]), m[2], m[3]
            key = {"FromRGB": "fromrgb", "Conv0": "conv0", "Conv1_down": "conv1", "Conv": "conv", "Skip": "skip",
                   "Dense0": "fc"}[layer]
            if field == "weight":
                value = value.T if layer == "Dense0" else np.transpose(value, (3, 2, 0, 1))
            out[f"b{res}.{key}.{field}"] = value
        elif m := re.fullmatch(r"Output/(weight|bias)", name):
            out[f"b{base}.out.{m[1]}"] = value.T if m[1] == "weight" else value
        elif m := re.fullmatch(r"LabelEmbed/(weight|bias)", name):
            out[f"mapping.embed.{m[1]}"] = value.T if m[1] == "weight" else value
        elif m := re.fullmatch(r"Mapping(\d+)/(weight|bias)", name):
            out[f"mapping.fc{m[1]}.{m[2]}"] = value.T if m[2] == "weight" else value
        elif name.endswith("lod") or name.endswith("resample_filter"):
            continue
        else:
            raise ConversionError(f"unexpected TF variable {name!r}")
    return out


# ---------------------------------------------------------------------------------------------
# StyleGAN (2019) TF1 names.


def load_stylegan_generator(generator, tf_params, source="Gs"):
    """Assigns a flattened TF1 StyleGAN (2019) `G_style` to a `Generator(architecture="stylegan")`."""
    load = tf_params if isinstance(tf_params, _Exporter) else WeightLoader(tf_params, source)
    mapping = generator.mapping
    for i, fc in enumerate(mapping.fcs):
        load(fc.kernel, f"mapping/Dense{i}/weight")
        load(fc.bias, f"mapping/Dense{i}/bias")
    if load.has("dlatent_avg"):
        load(mapping.w_avg, "dlatent_avg")
    blocks = generator.synthesis.blocks
    for i, block in enumerate(blocks):
        scope = f"synthesis/{format_resolution(block.resolution)}"
        names = ("Const", "Conv") if block.is_first else ("Conv0_up", "Conv1")
        for j, (layer, tf_name) in enumerate(zip((block.conv0, block.conv1), names)):
            p = f"{scope}/{tf_name}"
            if layer.conv is not None:
                load(layer.conv.kernel, p + "/weight")
            load(layer.noise.noise_strength, p + "/Noise/weight")
            load(layer.noise.noise_const, f"synthesis/noise{2 * i + j}", _tf_noise)
            load(layer.bias, p + "/bias")
            load(layer.adain.style.kernel, p + "/StyleMod/weight")
            load(layer.adain.style.bias, p + "/StyleMod/bias")
        if block.is_first:
            load(block.const.const, scope + "/Const/const", _tf_const)
        lod = len(blocks) - 1 - i
        load(block.torgb.conv.kernel, f"synthesis/ToRGB_lod{lod}/weight")
        load(block.torgb.conv.bias, f"synthesis/ToRGB_lod{lod}/bias")
    return [] if isinstance(load, _Exporter) else load.unused(ignore=(r".*lod",))


def load_stylegan_discriminator(discriminator, tf_params, source="D"):
    """Assigns a TF1 StyleGAN (2019) `D_basic` to a `Discriminator(architecture="stylegan")`."""
    load = tf_params if isinstance(tf_params, _Exporter) else WeightLoader(tf_params, source)

    def conv(layer, name):
        load(layer.kernel, name + "/weight")
        load(layer.bias, name + "/bias")

    shapes = block_shapes(discriminator.resolution)[::-1]
    for i, block in enumerate(discriminator.blocks):
        scope = format_resolution(shapes[i])
        conv(block.fromrgb, f"FromRGB_lod{i}")
        conv(block.conv0, f"{scope}/Conv0")
        conv(block.conv1, f"{scope}/Conv1_down")
    epilogue = discriminator.epilogue
    conv(epilogue.fromrgb, f"FromRGB_lod{len(discriminator.blocks)}")
    base = format_resolution(shapes[-1])
    conv(epilogue.conv, f"{base}/Conv")
    conv(epilogue.fc, f"{base}/Dense0")
    conv(epilogue.out, f"{base}/Dense1")
    return [] if isinstance(load, _Exporter) else load.unused(ignore=(r".*lod",))


def export_weights(network):
    """Our weights under NVIDIA's names and layouts (the inverse of the load tables).

    StyleGAN2 networks give a stylegan2-ada-pytorch state dict; StyleGAN 2019 networks the
    flattened TF1 variables (`mapping/Dense0/weight`, `synthesis/4x4/Const/const`, ...).
    Used to test conversion and to hand weights back to NVIDIA's tools.
    """
    from keras_stylegan.networks import Generator

    exporter = _Exporter()
    is_generator = isinstance(network, Generator)
    if network.architecture == "stylegan2":
        (load_stylegan2_generator if is_generator else load_stylegan2_discriminator)(network, exporter)
    else:
        (load_stylegan_generator if is_generator else load_stylegan_discriminator)(network, exporter)
    return exporter.params


# ---------------------------------------------------------------------------------------------
# Configurations: from PyTorch init_kwargs, or inferred from TF1 variable shapes.


def infer_channel_schedule(channels_by_res):
    """`{res: channels}` -> `(channel_base, channel_max)` reproducing `min(base // res, max)`."""
    channel_max = max(channels_by_res.values())
    uncapped = sorted(r for r, c in channels_by_res.items() if c < channel_max)
    channel_base = channels_by_res[uncapped[0]] * uncapped[0] if uncapped else channel_max * max(channels_by_res)
    for res, c in channels_by_res.items():
        if min(channel_base // res, channel_max) != c:
            raise ConversionError(f"channel counts {channels_by_res} do not follow NVIDIA's schedule")
    return int(channel_base), int(channel_max)


def _get(d, key, default):
    value = (d or {}).get(key)
    return default if value is None else value


def settings_section(kwargs, key, where):
    """A nested settings dict (`mapping_kwargs`, ...); absent or None reads as empty."""
    value = kwargs.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConversionError(f"{where} {key} must be a dict. Received: {brief_repr(value)}")
    return value


def int_setting(kwargs, key, where, default=_REQUIRED, minimum=0, maximum=MAX_WIDTH):
    value = kwargs.get(key)
    if value is None:
        if default is _REQUIRED:
            raise ConversionError(f"{where} has no {key}")
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not minimum <= value <= maximum:
        raise ConversionError(f"{where} {key} must be an integer from {minimum} to {maximum}. Received: "
                              f"{brief_repr(value)}")
    return int(value)




def float_setting(kwargs, key, where, default, minimum=0.0, maximum=math.inf, optional=False):
    """A finite float in (minimum, maximum]; `optional` settings (conv_clamp) may be None."""
    value = kwargs.get(key)
    if value is None:
        return None if optional else default
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConversionError(f"{where} {key} must be a number. Received: {brief_repr(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not (math.isfinite(number) and minimum < number <= maximum):
        raise ConversionError(f"{where} {key} must be a finite number above {minimum}"
                              f"{'' if maximum == math.inf else f' and at most {maximum}'}. "
                              f"Received: {brief_repr(value)}")
    return number


def choice_setting(kwargs, key, where, default, choices):
    value = _get(kwargs, key, default)
    if value not in choices:
        raise ConversionError(f"{where} {key} must be one of {', '.join(map(repr, choices))}. Received: "
                              f"{brief_repr(value)}")
    return value


def _filter_setting(kwargs, key, where):
    value = kwargs[key]
    if (not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_FILTER_TAPS
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)):
        raise ConversionError(f"{where} {key} must be a list of at most {MAX_FILTER_TAPS} finite numbers. "
                              f"Received: {brief_repr(value)}")
    return [float(v) for v in value]


def resolution_setting(kwargs, key, where):
    resolution = int_setting(kwargs, key, where, minimum=4, maximum=MAX_RESOLUTION)
    if resolution & (resolution - 1):
        raise ConversionError(f"{where} {key} must be a power of two. Received: {resolution}")
    return resolution


def check_init_kwargs(init_kwargs, where):
    if not isinstance(init_kwargs, dict):
        raise ConversionError(f"{where} must be a dict. Received: {brief_repr(init_kwargs)}")


def generator_config_from_torch(init_kwargs, where="G init_kwargs"):
    """Our `Generator` settings from a stylegan2-ada-pytorch generator's `init_kwargs`, each checked."""
    check_init_kwargs(init_kwargs, where)
    mapping = settings_section(init_kwargs, "mapping_kwargs", where)
    synthesis = settings_section(init_kwargs, "synthesis_kwargs", where)
    return dict(
        architecture="stylegan2", resolution=resolution_setting(init_kwargs, "img_resolution", where),
        channels=int_setting(init_kwargs, "img_channels", where, minimum=1, maximum=4),
        z_dim=int_setting(init_kwargs, "z_dim", where), w_dim=int_setting(init_kwargs, "w_dim", where, minimum=1),
        num_classes=int_setting(init_kwargs, "c_dim", where, 0, maximum=MAX_CLASSES),
        mapping_layers=int_setting(mapping, "num_layers", f"{where} mapping_kwargs", 8, maximum=MAX_MAPPING_LAYERS),
        mapping_lr_multiplier=float_setting(mapping, "lr_multiplier", f"{where} mapping_kwargs", 0.01),
        channel_base=int_setting(synthesis, "channel_base", f"{where} synthesis_kwargs", 32768, 1, MAX_CHANNEL_BASE),
        channel_max=int_setting(synthesis, "channel_max", f"{where} synthesis_kwargs", 512, 1),
        block_architecture=choice_setting(synthesis, "architecture", f"{where} synthesis_kwargs", "skip",
                                           ("orig", "skip", "resnet")),
        conv_clamp=float_setting(synthesis, "conv_clamp", f"{where} synthesis_kwargs", None, optional=True),
        w_avg_beta=float_setting(mapping, "w_avg_beta", f"{where} mapping_kwargs", 0.995, -1.0, 1.0),
    )


def discriminator_config_from_torch(init_kwargs, where="D init_kwargs"):
    """Our `Discriminator` settings from a stylegan2-ada-pytorch discriminator's `init_kwargs`, each checked."""
    check_init_kwargs(init_kwargs, where)
    epilogue = settings_section(init_kwargs, "epilogue_kwargs", where)
    mapping = settings_section(init_kwargs, "mapping_kwargs", where)
    return dict(
        architecture="stylegan2", resolution=resolution_setting(init_kwargs, "img_resolution", where),
        channels=int_setting(init_kwargs, "img_channels", where, minimum=1, maximum=4),
        num_classes=int_setting(init_kwargs, "c_dim", where, 0, maximum=MAX_CLASSES),
        block_architecture=choice_setting(init_kwargs, "architecture", where, "resnet", ("orig", "skip", "resnet")),
        channel_base=int_setting(init_kwargs, "channel_base", where, 32768, 1, MAX_CHANNEL_BASE),
        channel_max=int_setting(init_kwargs, "channel_max", where, 512, 1),
        mbstd_group_size=int_setting(epilogue, "mbstd_group_size", f"{where} epilogue_kwargs", 4),
        mbstd_num_channels=int_setting(epilogue, "mbstd_num_channels", f"{where} epilogue_kwargs", 1),
        cmap_dim=int_setting(init_kwargs, "cmap_dim", where, None, minimum=1),
        mapping_layers=int_setting(mapping, "num_layers", f"{where} mapping_kwargs", 8, maximum=MAX_MAPPING_LAYERS),
        mapping_lr_multiplier=float_setting(mapping, "lr_multiplier", f"{where} mapping_kwargs", 0.01),
        conv_clamp=float_setting(init_kwargs, "conv_clamp", where, None, optional=True),
    )


# ---------------------------------------------------------------------------------------------
# Sizes: a lower bound on the weights a configuration has, checked against the pickle's arrays
# before anything is built (so `num_layers: 2**31` or a huge `channel_max` costs nothing).


def minimum_generator_weights(config):
    """A lower bound on the number of weights a `Generator(**config)` loads from a pickle.

    Counts only conv kernels, their style affines, noise maps and the mapping layers, so it never
    exceeds the real count; used to refuse settings larger than the pickle's arrays before building.

    Example:
    >>> minimum_generator_weights(dict(resolution=8, z_dim=4, w_dim=4, mapping_layers=1, channel_base=16,
    ...                                channel_max=4))
    300
    """
    z_dim, w_dim, layers = config["z_dim"], config["w_dim"], config["mapping_layers"]
    embed = config.get("num_classes", 0) * w_dim
    mapping = embed + (((z_dim + (w_dim if embed else 0)) * w_dim + (layers - 1) * w_dim * w_dim) if layers else 0)
    synthesis = 0
    for shape in block_shapes(parse_resolution(config["resolution"])):
        c = channels_at(shape, config["channel_base"], config["channel_max"])
        synthesis += 9 * c * c + w_dim * c + shape[0] * shape[1]  # conv1 kernel, its affine, its noise map
    return mapping + synthesis


def minimum_discriminator_weights(config):
    """A lower bound on the number of weights a `Discriminator(**config)` loads from a pickle.

    Example:
    >>> minimum_discriminator_weights(dict(resolution=8, channel_base=16, channel_max=4))
    280
    """
    shapes = block_shapes(parse_resolution(config["resolution"]))
    base, channel_base, channel_max = shapes[0], config.get("channel_base", 32768), config.get("channel_max", 512)
    total = 0
    for shape in shapes[1:]:
        c = channels_at(shape, channel_base, channel_max)
        total += 9 * c * c  # conv0 kernel
    c = channels_at(base, channel_base, channel_max)
    mbstd = config.get("mbstd_num_channels", 1) if config.get("mbstd_group_size", 4) else 0
    total += 9 * (c + mbstd) * c + c * base[0] * base[1]  # epilogue conv kernel, fc kernel (>= 1 unit)
    if config.get("num_classes"):
        cmap = config.get("cmap_dim") or c
        total += config["num_classes"] * cmap + config.get("mapping_layers", 0) * cmap * cmap
    return total


def check_fits(config, arrays, what, discriminator=False):
    """Refuses settings that describe a larger network than the arrays can fill, before building it."""
    needed = (minimum_discriminator_weights if discriminator else minimum_generator_weights)(config)
    held = sum(int(np.size(value)) for value in arrays.values())
    if needed > held:
        raise ConversionError(f"{what}: its settings describe a network of at least {needed:,} weights, but the "
                              f"pickle holds {held:,}")


def _scopes(names, pattern):
    found = {}
    for name in names:
        if m := re.fullmatch(pattern, name):
            found[m[0]] = m
    return found.values()


def generator_config_from_tf(flat, static_kwargs, where="Gs static_kwargs"):
    """Our `Generator` settings from a flattened TF1 generator: shapes first, `static_kwargs` checked."""
    static_kwargs = static_kwargs or {}
    check_init_kwargs(static_kwargs, where)
    names = list(flat)
    stylegan = any(re.fullmatch(r"synthesis/ToRGB_lod\d+/weight", n) for n in names)
    num_layers = len([n for n in names if re.fullmatch(r"mapping/Dense\d+/weight", n)])
    w_dim = int(flat[f"mapping/Dense{num_layers - 1}/weight"].shape[1])
    embed = flat.get("mapping/LabelEmbed/weight")
    num_classes = (int(embed.shape[0]) if embed is not None
                   else int_setting(static_kwargs, "label_size", where, 0, maximum=MAX_CLASSES))
    z_dim = int(flat["mapping/Dense0/weight"].shape[0]) - (int(embed.shape[1]) if embed is not None else 0)
    z_dim = int_setting(static_kwargs, "latent_size", where, z_dim)
    channels_by_res = {}
    for m in _scopes(names, r"synthesis/(\d{1,5})x(\d{1,5})/(Conv|Conv1)/weight"):
        channels_by_res[max(int(m[1]), int(m[2]))] = int(flat[m[0]].shape[-1])
    rgb = [n for n in names if re.fullmatch(r"synthesis/(\d+x\d+/ToRGB|ToRGB_lod\d+)/weight", n)]
    skip = any(re.fullmatch(r"synthesis/\d+x\d+/Skip/weight", n) for n in names)
    channel_base, channel_max = infer_channel_schedule(channels_by_res)
    config = dict(
        architecture="stylegan" if stylegan else "stylegan2", resolution=max(channels_by_res),
        channels=int(flat[rgb[0]].shape[-1]), z_dim=z_dim, w_dim=w_dim, num_classes=num_classes,
        mapping_layers=num_layers, channel_base=channel_base, channel_max=channel_max,
    )
    if "mapping_lrmul" in static_kwargs:
        config["mapping_lr_multiplier"] = float_setting(static_kwargs, "mapping_lrmul", where, 0.01)
    if stylegan:
        config["fused_scale"] = choice_setting(static_kwargs, "fused_scale", where, "auto", ("auto", True, False))
        if "blur_filter" in static_kwargs:
            config["resample_filter"] = _filter_setting(static_kwargs, "blur_filter", where)
    else:
        config["block_architecture"] = "resnet" if skip else ("skip" if len(rgb) > 1 else "orig")
        config.update(_tf_stylegan2_resampling(static_kwargs, where))
    return _validate_config(config, where)


def _tf_stylegan2_resampling(static_kwargs, where="static_kwargs"):
    """The FIR filter and activation clamp a TF1 StyleGAN2 network was built with, when set."""
    config = {}
    if "resample_kernel" in static_kwargs:
        config["resample_filter"] = _filter_setting(static_kwargs, "resample_kernel", where)
    if static_kwargs.get("conv_clamp") is not None:
        config["conv_clamp"] = float_setting(static_kwargs, "conv_clamp", where, None, optional=True)
    return config


def _validate_config(config, where):
    """Settings derived from tensor names and shapes, held to the same caps as `init_kwargs`."""
    limits = {"z_dim": (0, MAX_WIDTH), "w_dim": (1, MAX_WIDTH), "num_classes": (0, MAX_CLASSES),
              "mapping_layers": (0, MAX_MAPPING_LAYERS), "channels": (1, 4), "channel_base": (1, MAX_CHANNEL_BASE),
              "channel_max": (1, MAX_WIDTH), "cmap_dim": (1, MAX_WIDTH), "mbstd_group_size": (0, MAX_WIDTH),
              "mbstd_num_channels": (0, MAX_WIDTH)}
    for key, (low, high) in limits.items():
        if key in config:
            int_setting(config, key, f"{where}: derived", None, low, high)
    resolution_setting(config, "resolution", f"{where}: derived")
    return config


def discriminator_config_from_tf(flat, static_kwargs, where="D static_kwargs"):
    """Our `Discriminator` settings from flattened TF1 variables: shapes first, `static_kwargs` checked."""
    static_kwargs = static_kwargs or {}
    check_init_kwargs(static_kwargs, where)
    names = list(flat)
    stylegan = any(re.fullmatch(r"FromRGB_lod\d+/weight", n) for n in names)
    channels_by_res = {}
    for m in _scopes(names, r"(\d{1,5})x(\d{1,5})/(Conv0|Conv)/weight"):
        channels_by_res[max(int(m[1]), int(m[2]))] = int(flat[m[0]].shape[-1])
    channel_base, channel_max = infer_channel_schedule(channels_by_res)
    base = min(channels_by_res)
    fromrgb = [n for n in names if re.fullmatch(r"(\d+x\d+/FromRGB|FromRGB_lod\d+)/weight", n)]
    mbstd_in = int(flat[f"{base}x{base}/Conv/weight"].shape[2]) - channels_by_res[base]
    embed = flat.get("LabelEmbed/weight")  # [label_size, mapping_fmaps]: D_main's label embedding
    config = dict(
        architecture="stylegan" if stylegan else "stylegan2",
        resolution=max(int(re.match(r"(\d{1,5})x", n)[1]) for n in names if re.match(r"\d{1,5}x\d{1,5}/", n)),
        channels=int(flat[fromrgb[0]].shape[2]),
        num_classes=(int(embed.shape[0]) if embed is not None
                     else int_setting(static_kwargs, "label_size", where, 0, maximum=MAX_CLASSES)),
        channel_base=channel_base, channel_max=channel_max,
        mbstd_group_size=int_setting(static_kwargs, "mbstd_group_size", where, 4), mbstd_num_channels=mbstd_in,
    )
    if embed is not None:  # D_main: mapping_layers default 0, mapping_lrmul default 0.1
        config.update(cmap_dim=int(embed.shape[1]),
                      mapping_layers=len([n for n in names if re.fullmatch(r"Mapping\d+/weight", n)]),
                      mapping_lr_multiplier=float_setting(static_kwargs, "mapping_lrmul", where, 0.1))
    if not stylegan:
        skip = any(re.fullmatch(r"\d+x\d+/Skip/weight", n) for n in names)
        config["block_architecture"] = "resnet" if skip else ("skip" if len(fromrgb) > 1 else "orig")
        config.update(_tf_stylegan2_resampling(static_kwargs, where))
    return _validate_config(config, where)


# ---------------------------------------------------------------------------------------------
# Entry points.


def convert_official(data, discriminator=True):
    """Builds and fills a `Generator` (the EMA generator) and optionally a `Discriminator`.

    Args:
        data: the output of `keras_stylegan.zoo.pickles.load_official_pickle`.
        discriminator: also convert D when the pickle has one.

    Returns:
        `dict(generator=..., discriminator=... or None, metadata=...)`.
    """
    from keras_stylegan.zoo import convert_stylegan3
    from keras_stylegan.zoo.pickles import flatten_tf_network

    if convert_stylegan3.is_stylegan3_snapshot(data):  # NVlabs/stylegan3 generators have their own table
        return convert_stylegan3.convert_official_stylegan3(data, discriminator=discriminator)
    nets = data["networks"]
    metadata = {"source_format": data["format"], "notes": []}
    # Every setting is read, checked and compared with the arrays before anything is built.
    d_config = d_arrays = None
    if data["format"] == "pytorch":
        g_key = "G_ema" if nets.get("G_ema") is not None else "G"
        g_src = nets.get(g_key)
        if g_src is None:
            raise ConversionError("the pickle has no G_ema or G network")
        g_arrays = g_src["state_dict"]
        g_config = read_settings(g_key, generator_config_from_torch, g_src["init_kwargs"], f"{g_key} init_kwargs")
        fp16 = read_settings(g_key, int_setting, settings_section(g_src["init_kwargs"], "synthesis_kwargs", g_key),
                         "num_fp16_res", f"{g_key} synthesis_kwargs", 0, 0, MAX_MAPPING_LAYERS)
        d_src = nets.get("D") if discriminator else None
        if d_src is not None:
            d_arrays = d_src["state_dict"]
            d_config = read_settings("D", discriminator_config_from_torch, d_src["init_kwargs"], "D init_kwargs")
            fp16 = max(fp16, read_settings("D", int_setting, d_src["init_kwargs"], "num_fp16_res", "D init_kwargs", 0,
                                       0, MAX_MAPPING_LAYERS))
        metadata["class_name"] = g_src.get("class_name")
    elif data["format"] == "tf1":
        g_key = "Gs" if nets.get("Gs") is not None else "G"
        g_net = nets.get(g_key)
        if g_net is None:
            raise ConversionError("the pickle has no Gs or G network")
        g_arrays = flatten_tf_network(g_net)
        g_config = read_settings(g_key, generator_config_from_tf, g_arrays, g_net.get("static_kwargs"),
                             f"{g_key} static_kwargs")
        fp16 = 0
        d_net = nets.get("D") if discriminator else None
        if d_net is not None:
            d_arrays = flatten_tf_network(d_net)
            d_config = read_settings("D", discriminator_config_from_tf, d_arrays, d_net.get("static_kwargs"),
                                 "D static_kwargs")
        metadata["build_func_name"] = g_net.get("build_func_name")
    else:
        raise ConversionError(f"unknown pickle format {brief_repr(data['format'])}")
    read_settings(g_key, check_fits, g_config, g_arrays, g_key)
    if d_config is not None:
        read_settings("D", check_fits, d_config, d_arrays, "D", True)

    from keras_stylegan.networks import Discriminator, Generator

    generator = read_settings(g_key, Generator, **g_config)
    d = None if d_config is None else read_settings("D", Discriminator, **d_config)
    if data["format"] == "pytorch":
        unused = load_stylegan2_generator(generator, g_arrays, g_key)
        if d is not None:
            unused += load_stylegan2_discriminator(d, d_arrays)
    else:
        if g_config["architecture"] == "stylegan":
            unused = load_stylegan_generator(generator, g_arrays)
        else:
            unused = load_stylegan2_generator(generator, tf_stylegan2_generator_to_torch(g_arrays), "Gs")
        if d is not None:
            if d_config["architecture"] == "stylegan":
                unused += load_stylegan_discriminator(d, d_arrays)
            else:
                base = max(block_shapes(d.resolution)[0])
                unused += load_stylegan2_discriminator(d, tf_stylegan2_discriminator_to_torch(d_arrays, base=base))
    if unused:
        raise ConversionError(f"arrays not used by the conversion: {', '.join(unused[:8])}")
    if fp16:
        metadata["notes"].append(f"trained with float16 in the {fp16} highest resolutions; runs in float32 here")
    if g_config.get("conv_clamp") is not None:
        metadata["notes"].append(f"conv_clamp={g_config['conv_clamp']} kept (NVIDIA clamps activations)")
    metadata.update(generator_config=g_config, discriminator_config=d_config, num_fp16_res=fp16)
    return {"generator": generator, "discriminator": d, "metadata": metadata}


def read_settings(what, function, *args, **kwargs):
    """Runs `function` on settings from the pickle; any failure is a `ConversionError` naming `what`."""
    try:
        return function(*args, **kwargs)
    except ConversionError:
        raise
    except (KeyError, IndexError, TypeError, AttributeError, OverflowError, ZeroDivisionError, ValueError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        message = message if len(message) <= 200 else message[:200] + "..."
        raise ConversionError(f"invalid settings for {what}: {type(error).__name__}: {message}") from None


def convert_pickle(path, discriminator=True):
    """Reads an official NVIDIA pickle safely and converts it (see `convert_official`).

    Example:
    >>> out = convert_pickle("stylegan2-ffhq-config-f.pkl")  # doctest: +SKIP
    >>> images = out["generator"](z, psi=0.5, noise_mode="const")  # doctest: +SKIP
    """
    from keras_stylegan.zoo.pickles import load_official_pickle

    return convert_official(load_official_pickle(path), discriminator=discriminator)
