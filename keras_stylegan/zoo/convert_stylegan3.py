"""Converts NVIDIA's StyleGAN3 generators (NVlabs/stylegan3 pickles) into keras_stylegan networks.

The pickle is read by the restricted unpickler of `keras_stylegan.zoo.pickles` (no code from it
runs). StyleGAN3 snapshots hold a `training.networks_stylegan3.Generator` (G, G_ema) and a
StyleGAN2 discriminator (D, converted by `keras_stylegan.zoo.convert`). The weights map onto
`Generator(architecture="stylegan3")` by a table: our layers carry NVIDIA's names; only the
layouts change (dense `[out, in] -> [in, out]`, conv `[O, I, kh, kw] -> [kh, kw, I, O]`).
The Fourier frequencies and phases, the FIR filters, `transform` and `magnitude_ema` are
copied from the pickle, never re-derived.
"""
from keras_stylegan.zoo.convert import (
    ConversionError, _conv, _get, _load_fc, _load_mapping, _Loader, discriminator_config_from_torch,
    load_stylegan2_discriminator,
)

# NVIDIA's SynthesisNetwork/SynthesisLayer settings that train.py never changes: our Generator
# builds exactly these, so a pickle with other values is refused rather than converted wrongly.
FIXED_SYNTHESIS_SETTINGS = dict(
    num_layers=14, num_critical=2, first_cutoff=2, first_stopband=2 ** 2.1, last_stopband_rel=2 ** 0.3,
    margin_size=10, output_scale=0.25, filter_size=6, lrelu_upsampling=2,
)
_KNOWN_KWARGS = set(FIXED_SYNTHESIS_SETTINGS) | {
    "z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "channel_base", "channel_max",
    "num_fp16_res", "conv_clamp", "conv_kernel", "use_radial_filters", "magnitude_ema_beta",
}


def is_stylegan3_generator(module):
    """Whether a converted-pickle module record (`{class_name, init_kwargs, state_dict}`) is a StyleGAN3 G.

    NVIDIA names both generators `Generator`; StyleGAN3's alone has Fourier-feature buffers.
    """
    return "synthesis.input.freqs" in module.get("state_dict", {})


def generator_config_from_torch(init_kwargs):
    """`Generator(architecture="stylegan3", ...)` keyword arguments from the pickle's init kwargs.

    Example:
    >>> generator_config_from_torch(dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3,
    ...                                  conv_kernel=1, use_radial_filters=True))["synthesis_architecture"]
    'r'
    """
    unknown = sorted(set(init_kwargs) - _KNOWN_KWARGS)
    if unknown:
        raise ConversionError(f"unsupported StyleGAN3 generator settings: {', '.join(unknown)}")
    for key, expected in FIXED_SYNTHESIS_SETTINGS.items():
        value = init_kwargs.get(key)
        if value is not None and abs(float(value) - expected) > 1e-9 * max(1.0, abs(expected)):
            raise ConversionError(f"unsupported StyleGAN3 setting {key}={value!r} (NVIDIA's training uses {expected})")
    conv_kernel = int(_get(init_kwargs, "conv_kernel", 3))
    radial = bool(_get(init_kwargs, "use_radial_filters", False))
    if (conv_kernel, radial) == (3, False):
        config = "t"
    elif (conv_kernel, radial) == (1, True):
        config = "r"
    else:
        raise ConversionError(f"unsupported StyleGAN3 variant: conv_kernel={conv_kernel}, "
                              f"use_radial_filters={radial} (T is 3 / False, R is 1 / True)")
    mapping = init_kwargs.get("mapping_kwargs") or {}
    if not isinstance(mapping, dict):
        raise ConversionError(f"mapping_kwargs must be a dict. Received: {type(mapping).__name__}")
    clamp = init_kwargs.get("conv_clamp", 256)
    return dict(
        architecture="stylegan3", synthesis_architecture=config, resolution=int(init_kwargs["img_resolution"]),
        channels=int(init_kwargs["img_channels"]), z_dim=int(init_kwargs["z_dim"]), w_dim=int(init_kwargs["w_dim"]),
        num_classes=int(_get(init_kwargs, "c_dim", 0)), mapping_layers=int(_get(mapping, "num_layers", 2)),
        mapping_lr_multiplier=float(_get(mapping, "lr_multiplier", 0.01)),
        w_avg_beta=float(_get(mapping, "w_avg_beta", 0.998)),
        channel_base=int(_get(init_kwargs, "channel_base", 32768)), channel_max=int(_get(init_kwargs, "channel_max", 512)),
        conv_clamp=None if clamp is None else float(clamp),
    )


def load_stylegan3_generator(generator, state_dict, source="G_ema"):
    """Assigns a NVlabs/stylegan3 generator state dict to a `Generator(architecture="stylegan3")`.

    Returns the names of arrays the table did not use (empty when everything fit).
    """
    load = _Loader(state_dict, source)
    _load_mapping(load, generator.mapping)
    synthesis = generator.synthesis
    features = synthesis.input_features
    load(features.weight, "synthesis.input.weight")
    for buffer in ("transform", "freqs", "phases"):
        load(getattr(features, buffer), f"synthesis.input.{buffer}")
    _load_fc(load, features.affine, "synthesis.input.affine")
    for layer in synthesis.synthesis_layers:
        p = f"synthesis.{layer.name}"
        _load_fc(load, layer.affine, p + ".affine")
        load(layer.weight, p + ".weight", _conv)
        load(layer.bias, p + ".bias")
        load(layer.magnitude_ema, p + ".magnitude_ema")
        for name in ("up_filter", "down_filter"):
            variable = getattr(layer, name)
            if variable is not None:
                load(variable, f"{p}.{name}")
            elif load.has(f"{p}.{name}"):
                raise ConversionError(f"{source}: {p}.{name} exists in the pickle but not in the network")
    return load.unused()


def is_stylegan3_snapshot(data):
    """Whether `load_official_pickle` output is a NVlabs/stylegan3 snapshot with a StyleGAN3 generator."""
    if data.get("format") != "pytorch":
        return False
    nets = data.get("networks") or {}
    g_src = nets.get("G_ema") or nets.get("G")
    return g_src is not None and is_stylegan3_generator(g_src)


def convert_official_stylegan3(data, discriminator=True):
    """`keras_stylegan.zoo.convert.convert_official` for StyleGAN3 snapshots (same return value).

    The EMA generator (else G) becomes a `Generator(architecture="stylegan3")`; D, a StyleGAN2
    discriminator in NVIDIA's StyleGAN3 training, a StyleGAN2 `Discriminator`.
    """
    from keras_stylegan.networks import Discriminator, Generator

    nets = data["networks"]
    source = "G_ema" if "G_ema" in nets else "G"
    g_src = nets[source]
    init_kwargs = g_src.get("init_kwargs") or {}
    g_config = generator_config_from_torch(init_kwargs)
    generator = Generator(**g_config)
    unused = load_stylegan3_generator(generator, g_src["state_dict"], source)
    fp16 = int(_get(init_kwargs, "num_fp16_res", 0))
    d = d_config = None
    d_src = nets.get("D") if discriminator else None
    if d_src is not None:
        d_config = discriminator_config_from_torch(d_src["init_kwargs"])
        d = Discriminator(**d_config)
        unused += load_stylegan2_discriminator(d, d_src["state_dict"])
        fp16 = max(fp16, int(_get(d_src["init_kwargs"], "num_fp16_res", 0)))
    if unused:
        raise ConversionError(f"arrays not used by the conversion: {', '.join(unused[:8])}")
    notes = ["StyleGAN3 has no noise inputs: noise_mode is ignored"]
    if fp16:
        notes.append(f"trained with float16 in the {fp16} highest resolutions; runs in float32 here")
    if g_config["conv_clamp"] is not None:
        notes.append(f"conv_clamp={g_config['conv_clamp']} kept (NVIDIA clamps activations)")
    metadata = dict(source_format="pytorch", notes=notes, class_name=g_src.get("class_name"),
                    generator_config=g_config, discriminator_config=d_config, num_fp16_res=fp16)
    return {"generator": generator, "discriminator": d, "metadata": metadata}


__all__ = ["convert_official_stylegan3", "generator_config_from_torch", "is_stylegan3_generator",
           "is_stylegan3_snapshot", "load_stylegan3_generator"]
