"""Converts NVIDIA's StyleGAN3 generators (NVlabs/stylegan3 pickles) into keras_stylegan networks.

The pickle is read by the restricted unpickler of `keras_stylegan.zoo.pickles` (no code from it
runs). StyleGAN3 snapshots hold a `training.networks_stylegan3.Generator` (G, G_ema) and a
StyleGAN2 discriminator (D, converted by `keras_stylegan.zoo.convert`). The weights map onto
`Generator(architecture="stylegan3")` by a table: our layers carry NVIDIA's names; only the
layouts change (dense `[out, in] -> [in, out]`, conv `[O, I, kh, kw] -> [kh, kw, I, O]`).
The Fourier frequencies and phases, the FIR filters, `transform` and `magnitude_ema` are
copied from the pickle, never re-derived.
"""
import numpy as np

from keras_stylegan.zoo.convert import (
    MAX_CHANNEL_BASE, MAX_CLASSES, MAX_FILTER_TAPS, MAX_MAPPING_LAYERS, ConversionError, WeightLoader, brief_repr,
    check_fits, check_init_kwargs, choice_setting, discriminator_config_from_torch, float_setting, int_setting,
    load_fc, load_mapping, load_stylegan2_discriminator, read_settings, resolution_setting, settings_section,
    torch_conv_kernel,
)

# NVIDIA's SynthesisNetwork/SynthesisLayer settings that train.py never changes: our Generator
# builds exactly these, so a pickle with other values is refused rather than converted wrongly.
FIXED_SYNTHESIS_SETTINGS = dict(
    num_layers=14, num_critical=2, first_cutoff=2, first_stopband=2 ** 2.1, last_stopband_rel=2 ** 0.3,
    margin_size=10, output_scale=0.25, filter_size=6, lrelu_upsampling=2,
)
_INTEGER_SETTINGS = {"num_layers", "num_critical", "margin_size", "filter_size", "lrelu_upsampling"}
_KNOWN_KWARGS = set(FIXED_SYNTHESIS_SETTINGS) | {
    "z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "channel_base", "channel_max",
    "num_fp16_res", "conv_clamp", "conv_kernel", "use_radial_filters", "magnitude_ema_beta",
}


def is_stylegan3_generator(module):
    """Whether a converted-pickle module record (`{class_name, init_kwargs, state_dict}`) is a StyleGAN3 G.

    NVIDIA names both generators `Generator`; StyleGAN3's alone has Fourier-feature buffers.
    """
    return "synthesis.input.freqs" in module.get("state_dict", {})


def generator_config_from_torch(init_kwargs, where="G init_kwargs"):
    """`Generator(architecture="stylegan3", ...)` keyword arguments from the pickle's init kwargs, each checked.

    Every setting is read with the caps of `keras_stylegan.zoo.convert` (a hostile pickle's
    `img_resolution=10**400` or `channel_max=2**31` is a `ConversionError`, not a network).

    Example:
    >>> generator_config_from_torch(dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3,
    ...                                  conv_kernel=1, use_radial_filters=True))["block_architecture"]
    'r'
    """
    check_init_kwargs(init_kwargs, where)
    unknown = sorted(brief_repr(key) if not isinstance(key, str) else key for key in set(init_kwargs) - _KNOWN_KWARGS)
    if unknown:
        raise ConversionError(f"unsupported StyleGAN3 generator settings: {', '.join(unknown[:8])}")
    for key, expected in FIXED_SYNTHESIS_SETTINGS.items():
        if key in _INTEGER_SETTINGS:
            value = int_setting(init_kwargs, key, where, expected, maximum=MAX_MAPPING_LAYERS)
        else:
            value = float_setting(init_kwargs, key, where, expected)
        if abs(value - expected) > 1e-9 * max(1.0, abs(expected)):
            raise ConversionError(f"unsupported StyleGAN3 setting {key}={value!r} (NVIDIA's training uses {expected})")
    conv_kernel = int_setting(init_kwargs, "conv_kernel", where, 3, 1, MAX_FILTER_TAPS)
    radial = bool(choice_setting(init_kwargs, "use_radial_filters", where, False, (False, True)))
    if (conv_kernel, radial) == (3, False):
        config = "t"
    elif (conv_kernel, radial) == (1, True):
        config = "r"
    else:
        raise ConversionError(f"unsupported StyleGAN3 variant: conv_kernel={conv_kernel}, "
                              f"use_radial_filters={radial} (T is 3 / False, R is 1 / True)")
    mapping = settings_section(init_kwargs, "mapping_kwargs", where)
    float_setting(init_kwargs, "magnitude_ema_beta", where, 0.999, -1.0, 1.0)  # training only: checked, unused
    # NVIDIA's SynthesisLayer clamps at 256 unless told otherwise; an explicit None turns the clamp off.
    clamp = float_setting(init_kwargs, "conv_clamp", where, None, optional=True) if "conv_clamp" in init_kwargs \
        else 256.0
    return dict(
        architecture="stylegan3", block_architecture=config,
        resolution=resolution_setting(init_kwargs, "img_resolution", where),
        channels=int_setting(init_kwargs, "img_channels", where, minimum=1, maximum=4),
        z_dim=int_setting(init_kwargs, "z_dim", where), w_dim=int_setting(init_kwargs, "w_dim", where, minimum=1),
        num_classes=int_setting(init_kwargs, "c_dim", where, 0, maximum=MAX_CLASSES),
        mapping_layers=int_setting(mapping, "num_layers", f"{where} mapping_kwargs", 2, maximum=MAX_MAPPING_LAYERS),
        mapping_lr_multiplier=float_setting(mapping, "lr_multiplier", f"{where} mapping_kwargs", 0.01),
        w_avg_beta=float_setting(mapping, "w_avg_beta", f"{where} mapping_kwargs", 0.998, -1.0, 1.0),
        channel_base=int_setting(init_kwargs, "channel_base", where, 32768, 1, MAX_CHANNEL_BASE),
        channel_max=int_setting(init_kwargs, "channel_max", where, 512, 1),
        conv_clamp=clamp,
    )


def minimum_generator_weights(config):
    """A lower bound on the number of weights a StyleGAN3 `Generator(**config)` loads from a pickle.

    Counts the mapping layers, the input's channel mix and affine, and each layer's affine and conv
    kernel (widths from `keras_stylegan.networks.stylegan3.layer_specs`); biases, filters and
    buffers are left out, so it never exceeds the real count. Checked against the pickle's arrays
    before anything is built.

    Example:
    >>> minimum_generator_weights(dict(resolution=16, z_dim=4, w_dim=4, mapping_layers=1, channel_base=64,
    ...                                channel_max=4, channels=3, block_architecture="t"))
    2156
    """
    from keras_stylegan.networks.stylegan3 import layer_specs

    z_dim, w_dim, layers = config["z_dim"], config["w_dim"], config["mapping_layers"]
    embed = config.get("num_classes", 0) * w_dim
    mapping = embed + (((z_dim + (w_dim if embed else 0)) * w_dim + (layers - 1) * w_dim * w_dim) if layers else 0)
    kernel = 1 if config.get("block_architecture") == "r" else 3
    widths = [int(c) for c in layer_specs(config["resolution"], config.get("channels", 3), config["channel_base"],
                                          config["channel_max"], FIXED_SYNTHESIS_SETTINGS["num_layers"])["channels"]]
    synthesis = widths[0] * widths[0] + w_dim * 4  # input: channel mix, affine
    for idx in range(1, len(widths)):
        size = 1 if idx == len(widths) - 1 else kernel  # ToRGB is 1x1
        synthesis += w_dim * widths[idx - 1] + size * size * widths[idx - 1] * widths[idx]  # affine, conv kernel
    return mapping + synthesis


def load_stylegan3_generator(generator, state_dict, source="G_ema"):
    """Assigns a NVlabs/stylegan3 generator state dict to a `Generator(architecture="stylegan3")`.

    Returns the names of arrays the table did not use (empty when everything fit).
    """
    load = WeightLoader(state_dict, source)
    load_mapping(load, generator.mapping)
    synthesis = generator.synthesis
    features = synthesis.input_features
    load(features.weight, "synthesis.input.weight")
    for buffer in ("transform", "freqs", "phases"):
        load(getattr(features, buffer), f"synthesis.input.{buffer}")
    load_fc(load, features.affine, "synthesis.input.affine")
    for layer in synthesis.synthesis_layers:
        p = f"synthesis.{layer.name}"
        load_fc(load, layer.affine, p + ".affine")
        load(layer.weight, p + ".weight", torch_conv_kernel)
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
    nets = data["networks"]
    source = "G_ema" if nets.get("G_ema") is not None else "G"
    g_src = nets[source]
    g_arrays = g_src["state_dict"]
    # Every setting is read, checked and compared with the arrays before anything is built.
    g_config = read_settings(source, generator_config_from_torch, g_src.get("init_kwargs"), f"{source} init_kwargs")
    fp16 = read_settings(source, int_setting, g_src["init_kwargs"], "num_fp16_res", f"{source} init_kwargs", 0, 0,
                     MAX_MAPPING_LAYERS)
    read_settings(source, _check_fits_stylegan3, g_config, g_arrays, source)
    d_config = d_arrays = d = None
    d_src = nets.get("D") if discriminator else None
    if d_src is not None:
        d_arrays = d_src["state_dict"]
        d_config = read_settings("D", discriminator_config_from_torch, d_src["init_kwargs"], "D init_kwargs")
        fp16 = max(fp16, read_settings("D", int_setting, d_src["init_kwargs"], "num_fp16_res", "D init_kwargs", 0, 0,
                                   MAX_MAPPING_LAYERS))
        read_settings("D", check_fits, d_config, d_arrays, "D", True)

    from keras_stylegan.networks import Discriminator, Generator

    generator = read_settings(source, Generator, **g_config)
    unused = load_stylegan3_generator(generator, g_arrays, source)
    if d_config is not None:
        d = read_settings("D", Discriminator, **d_config)
        unused += load_stylegan2_discriminator(d, d_arrays)
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


def _check_fits_stylegan3(config, arrays, what):
    """`keras_stylegan.zoo.convert._check_fits` with the StyleGAN3 generator's lower bound."""
    needed = minimum_generator_weights(config)
    held = sum(int(np.size(value)) for value in arrays.values())
    if needed > held:
        raise ConversionError(f"{what}: its settings describe a network of at least {needed:,} weights, but the "
                              f"pickle holds {held:,}")


__all__ = ["convert_official_stylegan3", "generator_config_from_torch", "is_stylegan3_generator",
           "is_stylegan3_snapshot", "load_stylegan3_generator", "minimum_generator_weights"]
