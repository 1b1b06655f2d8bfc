"""Converts NVIDIA's official StyleGAN pickles into keras_stylegan networks, in NumPy.

Both official formats are read by `keras_stylegan.zoo.pickles` (a restricted unpickler:
no code from the pickle runs). TF1 names are first translated to stylegan2-ada-pytorch
names and layouts (as NVIDIA's own `legacy.py` does), so one table maps StyleGAN2 weights
onto our layers; StyleGAN (2019) has its own table. Our layers use TF's layout (HWIO
kernels, correlation), so PyTorch's flipped up-sampling kernels are flipped back.
"""
import re

import numpy as np

from keras_stylegan.utils.shapes import block_name, block_shapes, format_resolution


class ConversionError(ValueError):
    """The pickle's networks do not fit the expected official structure."""


# ---------------------------------------------------------------------------------------------
# Layout helpers: PyTorch -> ours.


def _fc(w):  # [out, in] -> [in, out]
    return np.transpose(w)


def _conv(w):  # [O, I, kh, kw] -> [kh, kw, I, O]
    return np.transpose(w, (2, 3, 1, 0))


def _conv_flipped(w):  # PyTorch's up-sampling modulated convs convolve: flip back to correlation
    return _conv(w)[::-1, ::-1]


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
    _conv: lambda v: np.transpose(v, (3, 2, 0, 1)),
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


class _Loader:
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


def _load_fc(load, layer, prefix):
    load(layer.kernel, prefix + ".weight", _fc)
    if layer.bias is not None:
        load(layer.bias, prefix + ".bias")


def _load_mapping(load, mapping, prefix="mapping"):
    if mapping.embed is not None:
        _load_fc(load, mapping.embed, f"{prefix}.embed")
    for i, fc in enumerate(mapping.fcs):
        _load_fc(load, fc, f"{prefix}.fc{i}")
    if mapping.num_ws is not None and load.has(f"{prefix}.w_avg"):  # NVIDIA's D mapping keeps no w_avg
        load(mapping.w_avg, f"{prefix}.w_avg")


# ---------------------------------------------------------------------------------------------
# StyleGAN2 (PyTorch names).


def load_stylegan2_generator(generator, state_dict, source="G"):
    """Assigns a stylegan2-ada-pytorch generator state dict to a `Generator`."""
    load = state_dict if isinstance(state_dict, _Exporter) else _Loader(state_dict, source)
    _load_mapping(load, generator.mapping)
    for block in generator.synthesis.blocks:
        p = f"synthesis.{block_name(block.resolution)}"
        if block.const is not None:
            load(block.const.const, p + ".const", _const)
        for key, layer in (("conv0", block.conv0), ("conv1", block.conv1)):
            if layer is None:
                continue
            _load_fc(load, layer.affine, f"{p}.{key}.affine")
            load(layer.conv.kernel, f"{p}.{key}.weight", _conv_flipped if layer.up > 1 else _conv)
            load(layer.noise.noise_strength, f"{p}.{key}.noise_strength")
            load(layer.noise.noise_const, f"{p}.{key}.noise_const")
            load(layer.bias, f"{p}.{key}.bias")
        if block.torgb is not None:
            _load_fc(load, block.torgb.affine, f"{p}.torgb.affine")
            load(block.torgb.kernel, f"{p}.torgb.weight", _conv)
            load(block.torgb.bias, f"{p}.torgb.bias")
        if block.skip is not None:
            load(block.skip.kernel, f"{p}.skip.weight", _conv)
    return [] if isinstance(load, _Exporter) else load.unused(ignore=(r".*resample_filter",))


def load_stylegan2_discriminator(discriminator, state_dict, source="D"):
    """Assigns a stylegan2-ada-pytorch discriminator state dict to a `Discriminator`."""
    load = state_dict if isinstance(state_dict, _Exporter) else _Loader(state_dict, source)
    for block in discriminator.blocks:
        p = block.name
        for key in ("fromrgb", "conv0", "conv1", "skip"):
            layer = getattr(block, key)
            if layer is not None:
                load(layer.kernel, f"{p}.{key}.weight", _conv)
                if layer.bias is not None:
                    load(layer.bias, f"{p}.{key}.bias")
    epilogue = discriminator.epilogue
    p = epilogue.name
    for key in ("fromrgb", "conv"):
        layer = getattr(epilogue, key)
        if layer is not None:
            load(layer.kernel, f"{p}.{key}.weight", _conv)
            load(layer.bias, f"{p}.{key}.bias")
    _load_fc(load, epilogue.fc, p + ".fc")
    _load_fc(load, epilogue.out, p + ".out")
    if discriminator.mapping is not None:
        _load_mapping(load, discriminator.mapping)
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
    load = tf_params if isinstance(tf_params, _Exporter) else _Loader(tf_params, source)
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
    load = tf_params if isinstance(tf_params, _Exporter) else _Loader(tf_params, source)

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


def generator_config_from_torch(init_kwargs):
    mapping = init_kwargs.get("mapping_kwargs") or {}
    synthesis = init_kwargs.get("synthesis_kwargs") or {}
    return dict(
        architecture="stylegan2", resolution=int(init_kwargs["img_resolution"]),
        channels=int(init_kwargs["img_channels"]), z_dim=int(init_kwargs["z_dim"]), w_dim=int(init_kwargs["w_dim"]),
        num_classes=int(_get(init_kwargs, "c_dim", 0)), mapping_layers=int(_get(mapping, "num_layers", 8)),
        mapping_lr_multiplier=float(_get(mapping, "lr_multiplier", 0.01)),
        channel_base=int(_get(synthesis, "channel_base", 32768)), channel_max=int(_get(synthesis, "channel_max", 512)),
        synthesis_architecture=_get(synthesis, "architecture", "skip"),
        conv_clamp=synthesis.get("conv_clamp"), w_avg_beta=float(_get(mapping, "w_avg_beta", 0.995)),
    )


def discriminator_config_from_torch(init_kwargs):
    epilogue = init_kwargs.get("epilogue_kwargs") or {}
    mapping = init_kwargs.get("mapping_kwargs") or {}
    return dict(
        architecture="stylegan2", resolution=int(init_kwargs["img_resolution"]),
        channels=int(init_kwargs["img_channels"]), num_classes=int(_get(init_kwargs, "c_dim", 0)),
        block_architecture=_get(init_kwargs, "architecture", "resnet"),
        channel_base=int(_get(init_kwargs, "channel_base", 32768)), channel_max=int(_get(init_kwargs, "channel_max", 512)),
        mbstd_group_size=int(_get(epilogue, "mbstd_group_size", 4)),
        mbstd_num_channels=int(_get(epilogue, "mbstd_num_channels", 1)), cmap_dim=init_kwargs.get("cmap_dim"),
        mapping_layers=int(_get(mapping, "num_layers", 8)),
        mapping_lr_multiplier=float(_get(mapping, "lr_multiplier", 0.01)), conv_clamp=init_kwargs.get("conv_clamp"),
    )


def _scopes(names, pattern):
    found = {}
    for name in names:
        if m := re.fullmatch(pattern, name):
            found[m[0]] = m
    return found.values()


def generator_config_from_tf(flat, static_kwargs):
    names = list(flat)
    stylegan = any(re.fullmatch(r"synthesis/ToRGB_lod\d+/weight", n) for n in names)
    num_layers = len([n for n in names if re.fullmatch(r"mapping/Dense\d+/weight", n)])
    w_dim = int(flat[f"mapping/Dense{num_layers - 1}/weight"].shape[1])
    embed = flat.get("mapping/LabelEmbed/weight")
    num_classes = int(embed.shape[0]) if embed is not None else int(static_kwargs.get("label_size", 0))
    z_dim = int(flat["mapping/Dense0/weight"].shape[0]) - (int(embed.shape[1]) if embed is not None else 0)
    z_dim = int(static_kwargs.get("latent_size", z_dim))
    channels_by_res = {}
    for m in _scopes(names, r"synthesis/(\d+)x(\d+)/(Conv|Conv1)/weight"):
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
        config["mapping_lr_multiplier"] = float(static_kwargs["mapping_lrmul"])
    if stylegan:
        config["fused_scale"] = static_kwargs.get("fused_scale", "auto")
        if "blur_filter" in static_kwargs:
            config["resample_filter"] = list(static_kwargs["blur_filter"])
    else:
        config["synthesis_architecture"] = "resnet" if skip else ("skip" if len(rgb) > 1 else "orig")
        config.update(_tf_stylegan2_resampling(static_kwargs))
    return config


def _tf_stylegan2_resampling(static_kwargs):
    """The FIR filter and activation clamp a TF1 StyleGAN2 network was built with, when set."""
    config = {}
    if "resample_kernel" in static_kwargs:
        config["resample_filter"] = list(static_kwargs["resample_kernel"])
    if static_kwargs.get("conv_clamp") is not None:
        config["conv_clamp"] = float(static_kwargs["conv_clamp"])
    return config


def discriminator_config_from_tf(flat, static_kwargs):
    names = list(flat)
    stylegan = any(re.fullmatch(r"FromRGB_lod\d+/weight", n) for n in names)
    channels_by_res = {}
    for m in _scopes(names, r"(\d+)x(\d+)/(Conv0|Conv)/weight"):
        channels_by_res[max(int(m[1]), int(m[2]))] = int(flat[m[0]].shape[-1])
    channel_base, channel_max = infer_channel_schedule(channels_by_res)
    base = min(channels_by_res)
    fromrgb = [n for n in names if re.fullmatch(r"(\d+x\d+/FromRGB|FromRGB_lod\d+)/weight", n)]
    mbstd_in = int(flat[f"{base}x{base}/Conv/weight"].shape[2]) - channels_by_res[base]
    embed = flat.get("LabelEmbed/weight")  # [label_size, mapping_fmaps]: D_main's label embedding
    config = dict(
        architecture="stylegan" if stylegan else "stylegan2",
        resolution=max(int(re.match(r"(\d+)x", n)[1]) for n in names if re.match(r"\d+x\d+/", n)),
        channels=int(flat[fromrgb[0]].shape[2]),
        num_classes=int(embed.shape[0]) if embed is not None else int(static_kwargs.get("label_size", 0)),
        channel_base=channel_base, channel_max=channel_max,
        mbstd_group_size=int(static_kwargs.get("mbstd_group_size", 4)), mbstd_num_channels=mbstd_in,
    )
    if embed is not None:  # D_main: mapping_layers default 0, mapping_lrmul default 0.1
        config.update(cmap_dim=int(embed.shape[1]),
                      mapping_layers=len([n for n in names if re.fullmatch(r"Mapping\d+/weight", n)]),
                      mapping_lr_multiplier=float(static_kwargs.get("mapping_lrmul", 0.1)))
    if not stylegan:
        skip = any(re.fullmatch(r"\d+x\d+/Skip/weight", n) for n in names)
        config["block_architecture"] = "resnet" if skip else ("skip" if len(fromrgb) > 1 else "orig")
        config.update(_tf_stylegan2_resampling(static_kwargs))
    return config


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
    from keras_stylegan.networks import Discriminator, Generator
    from keras_stylegan.zoo import convert_stylegan3
    from keras_stylegan.zoo.pickles import flatten_tf_network

    if convert_stylegan3.is_stylegan3_snapshot(data):  # NVlabs/stylegan3 generators have their own table
        return convert_stylegan3.convert_official_stylegan3(data, discriminator=discriminator)
    nets = data["networks"]
    metadata = {"source_format": data["format"], "notes": []}
    if data["format"] == "pytorch":
        g_src = nets.get("G_ema") or nets.get("G")
        if g_src is None:
            raise ConversionError("the pickle has no G_ema or G network")
        g_config = generator_config_from_torch(g_src["init_kwargs"])
        generator = Generator(**g_config)
        unused = load_stylegan2_generator(generator, g_src["state_dict"], "G_ema" if "G_ema" in nets else "G")
        fp16 = int(_get(g_src["init_kwargs"].get("synthesis_kwargs"), "num_fp16_res", 0))
        d_src = nets.get("D") if discriminator else None
        d = d_config = None
        if d_src is not None:
            d_config = discriminator_config_from_torch(d_src["init_kwargs"])
            d = Discriminator(**d_config)
            unused += load_stylegan2_discriminator(d, d_src["state_dict"])
            fp16 = max(fp16, int(_get(d_src["init_kwargs"], "num_fp16_res", 0)))
        metadata["class_name"] = g_src.get("class_name")
    elif data["format"] == "tf1":
        g_net = nets.get("Gs") or nets.get("G")
        if g_net is None:
            raise ConversionError("the pickle has no Gs or G network")
        flat = flatten_tf_network(g_net)
        g_config = generator_config_from_tf(flat, g_net.get("static_kwargs") or {})
        generator = Generator(**g_config)
        if g_config["architecture"] == "stylegan":
            unused = load_stylegan_generator(generator, flat)
        else:
            unused = load_stylegan2_generator(generator, tf_stylegan2_generator_to_torch(flat), "Gs")
        fp16 = 0
        d_net = nets.get("D") if discriminator else None
        d = d_config = None
        if d_net is not None:
            d_flat = flatten_tf_network(d_net)
            d_config = discriminator_config_from_tf(d_flat, d_net.get("static_kwargs") or {})
            d = Discriminator(**d_config)
            if d_config["architecture"] == "stylegan":
                unused += load_stylegan_discriminator(d, d_flat)
            else:
                base = max(block_shapes(d.resolution)[0])
                unused += load_stylegan2_discriminator(d, tf_stylegan2_discriminator_to_torch(d_flat, base=base))
        metadata["build_func_name"] = g_net.get("build_func_name")
    else:
        raise ConversionError(f"unknown pickle format {data['format']!r}")
    if unused:
        raise ConversionError(f"arrays not used by the conversion: {', '.join(unused[:8])}")
    if fp16:
        metadata["notes"].append(f"trained with float16 in the {fp16} highest resolutions; runs in float32 here")
    if g_config.get("conv_clamp") is not None:
        metadata["notes"].append(f"conv_clamp={g_config['conv_clamp']} kept (NVIDIA clamps activations)")
    metadata.update(generator_config=g_config, discriminator_config=d_config, num_fp16_res=fp16)
    return {"generator": generator, "discriminator": d, "metadata": metadata}


def convert_pickle(path, discriminator=True):
    """Reads an official NVIDIA pickle safely and converts it (see `convert_official`).

    Example:
    >>> out = convert_pickle("stylegan2-ffhq-config-f.pkl")  # doctest: +SKIP
    >>> images = out["generator"](z, psi=0.5, noise_mode="const")  # doctest: +SKIP
    """
    from keras_stylegan.zoo.pickles import load_official_pickle

    return convert_official(load_official_pickle(path), discriminator=discriminator)
