"""Model cards and the zoo registry: built-in cards, lookup, registration, plugins.

Expected architecture numbers are typed in from NVIDIA's sources (run_training.py
config-a..f, StyleGAN2-ADA train.py cfg_specs, networks_stylegan.py defaults), not taken
from the cards, so a wrong card fails here.
"""
import dataclasses
import inspect
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_stylegan.utils.shapes import parse_resolution
from keras_stylegan.zoo import registry
from keras_stylegan.zoo.registry import ModelCard, Registry, get_card, list_cards, register, unregister

BUILTIN = Registry(entry_point_group=None).list()  # independent of plugins installed here


def tiny_card(name="tiny", **changes):
    fields = dict(
        name=name, aliases=[f"{name}-alias"], description="A tiny test card.", architecture="stylegan2",
        resolution="16x16", generator=dict(architecture="stylegan2", resolution=16, z_dim=8, w_dim=8),
        discriminator=None, urls=["https://example.com/tiny.pkl"], source_format="pytorch-pickle", license="MIT",
    )
    fields.update(changes)
    return fields


# ---------------------------------------------------------------------------------------------- built-in cards

def test_builtin_cards_load_validate_and_are_complete():
    families = {"stylegan-", "stylegan2-", "stylegan2-ada-", "stylegan2-ngc-", "stylegan3-t-", "stylegan3-r-"}
    nvidia = [name for name in BUILTIN if name != "emoji"]  # emoji: our own model, shipped in the package
    assert len(nvidia) == 44 and "emoji" in BUILTIN
    assert len([name for name in nvidia if name.startswith("stylegan3-")]) == 12  # NVlabs/stylegan3 README
    assert BUILTIN == sorted(BUILTIN)
    for name in nvidia:
        card = get_card(name)
        assert card.name == name and any(name.startswith(f) for f in families)
        assert card.description and card.notes and card.paper["arxiv"] and card.source_repo.startswith("NVlabs/")
        assert card.sha256 is None  # NVIDIA publishes none; the downloader records them on first use
        assert "non-commercial" in card.license.lower() or card.license in ("CC BY-NC 4.0",
                                                                            "Nvidia Source Code License-NC")
        assert card.urls[0].startswith("https://")


def test_licenses_follow_each_release():
    assert get_card("stylegan-ffhq").license == "CC BY-NC 4.0"  # NVlabs/stylegan README
    assert get_card("ffhq").license == "Nvidia Source Code License-NC"  # NVlabs/stylegan2 README
    assert "StyleGAN2-ADA" in get_card("metfaces").license
    assert "StyleGAN3" in get_card("ffhqu").license


@pytest.mark.parametrize("alias, name", [
    ("ffhq", "stylegan2-ffhq-1024"), ("FFHQ", "stylegan2-ffhq-1024"),
    (" stylegan2-ffhq-config-f ", "stylegan2-ffhq-1024"),
    ("stylegan-ffhq", "stylegan-ffhq-1024"), ("karras2019stylegan-cars-512x384", "stylegan-cars-512x384"),
    ("car", "stylegan2-car-512x384"), ("cifar10", "stylegan2-ada-cifar10-32"),
    ("stylegan2-ffhq-256x256", "stylegan2-ngc-ffhq-256"), ("stylegan2-ffhq-config-a", "stylegan2-ffhq-1024-config-a"),
])
def test_aliases_resolve(alias, name):
    assert get_card(alias).name == name


def test_every_alias_is_unique_across_cards():
    names = [alias for name in BUILTIN for alias in get_card(name).aliases] + BUILTIN
    assert len(names) == len(set(names))


# NVIDIA's numbers: channel_base = 2 x TF fmap_base.
@pytest.mark.parametrize("name, arch, res, channel_base, mapping_layers, g_arch, d_arch, mbstd, clamp", [
    ("stylegan-ffhq-1024", "stylegan", 1024, 16384, 8, None, None, 4, None),          # fmap_base 8192
    ("stylegan-bedrooms-256", "stylegan", 256, 16384, 8, None, None, 4, None),
    ("stylegan2-ffhq-1024", "stylegan2", 1024, 32768, 8, "skip", "resnet", 4, None),  # config-f
    ("stylegan2-horse-256", "stylegan2", 256, 32768, 8, "skip", "resnet", 4, None),
    ("stylegan2-ffhq-1024-config-a", "stylegan", 1024, 16384, 8, None, None, 4, None),
    ("stylegan2-ffhq-1024-config-b", "stylegan2", 1024, 16384, 8, "orig", "orig", 4, None),
    ("stylegan2-ffhq-1024-config-d", "stylegan2", 1024, 16384, 8, "orig", "orig", 4, None),
    ("stylegan2-ffhq-1024-config-e", "stylegan2", 1024, 16384, 8, "skip", "resnet", 4, None),
    ("stylegan2-ada-metfaces-1024", "stylegan2", 1024, 32768, 8, "skip", "resnet", 4, 256),  # paper1024
    ("stylegan2-ada-afhqdog-512", "stylegan2", 512, 32768, 8, "skip", "resnet", 8, 256),     # paper512
    ("stylegan2-ada-cifar10-32", "stylegan2", 32, 16384, 2, "skip", "orig", 32, 256),        # cifar
    ("stylegan2-ngc-ffhqu-256", "stylegan2", 256, 16384, 8, "skip", "resnet", 8, 256),
    ("stylegan2-ngc-afhqv2-512", "stylegan2", 512, 32768, 8, "skip", "resnet", 4, 256),
])
def test_cards_match_nvidia_configs(name, arch, res, channel_base, mapping_layers, g_arch, d_arch, mbstd, clamp):
    card = get_card(name)
    g, d = card.generator, card.discriminator
    assert card.architecture == g["architecture"] == arch
    assert parse_resolution(card.resolution) == parse_resolution(g["resolution"]) == (res, res)
    assert (g["channel_base"], g["channel_max"], g["mapping_layers"], g["z_dim"], g["w_dim"]) == (
        channel_base, 512, mapping_layers, 512, 512)
    assert g.get("block_architecture") == g_arch and g.get("conv_clamp") == clamp
    if mbstd is None:
        assert d is None
    else:
        assert d["channel_base"] == channel_base and d["mbstd_group_size"] == mbstd
        assert d.get("conv_clamp") == clamp and (d_arch is None or d["block_architecture"] == d_arch)


def test_special_cases_cars_and_cifar10():
    for name in ("stylegan-cars", "car"):
        card = get_card(name)
        assert card.resolution == "512x512" and card.content_resolution == "512x384"
    cifar = get_card("cifar10")
    assert cifar.conditional and cifar.num_classes == cifar.generator["num_classes"] == 10
    assert cifar.discriminator["num_classes"] == 10 and cifar.discriminator["mapping_layers"] == 0  # D_main default
    assert get_card("stylegan-ffhq").truncation == {"psi": 0.7, "cutoff": 8}
    assert get_card("stylegan-ffhq").content_resolution is None


# ------------------------------------------------------------------------------- cards fit the networks' signatures

def _parameters(cls):
    return {name for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD}


@pytest.mark.parametrize("name", BUILTIN)
def test_card_kwargs_fit_constructor_signatures(name):
    from keras_stylegan import Discriminator, Generator
    card = get_card(name)
    assert set(card.generator) <= _parameters(Generator), set(card.generator) - _parameters(Generator)
    if card.discriminator is not None:
        assert set(card.discriminator) <= _parameters(Discriminator)
        assert parse_resolution(card.discriminator["resolution"]) == parse_resolution(card.resolution)
    height, width = parse_resolution(card.resolution)
    assert card.resolution == f"{width}x{height}"
    if card.content_resolution:
        content_w, content_h = (int(v) for v in card.content_resolution.split("x"))
        assert content_w <= width and content_h <= height


def test_every_card_constructs_at_reduced_size():
    """Every card's options (architectures, clamp, classes, mbstd, mapping depth) are accepted."""
    from keras_stylegan import Discriminator, Generator
    shrink = dict(resolution=8, channel_base=64, channel_max=16)
    for name in BUILTIN:
        card = get_card(name)
        g = Generator(**dict(card.generator, z_dim=16, w_dim=16, **shrink))
        assert g.num_ws == (16 if card.architecture == "stylegan3" else 4)  # StyleGAN3: 14 layers + 2
        assert g.architecture == card.architecture and g.num_classes == card.num_classes
        if card.discriminator is not None:
            d = Discriminator(**dict(card.discriminator, **shrink))
            assert d.block_architecture == card.discriminator["block_architecture"]


def _stylegan2_g_params(res, channel_base, z_dim=512, w_dim=512, mapping_layers=8, num_classes=0, rgb=3):
    """NVIDIA's StyleGAN2 'skip' generator, counted layer by layer (PyTorch parameters / TF trainables).

    NVIDIA's printed summaries give, at 512 channels: modulated 3x3 conv 2,622,465 and torgb 264,195.
    """
    ch = lambda r: min(channel_base // r, 512)  # noqa: E731
    dense = lambda i, o: i * o + o  # noqa: E731
    mapping = dense(num_classes, w_dim) if num_classes else 0
    width = z_dim + (w_dim if num_classes else 0)
    for _ in range(mapping_layers):
        mapping, width = mapping + dense(width, w_dim), w_dim
    conv = lambda i, o, k=3: dense(w_dim, i) + i * o * k * k + o + 1  # affine, weight, bias, noise_strength
    torgb = lambda c: dense(w_dim, c) + c * rgb + rgb  # noqa: E731
    synthesis = ch(4) * 16 + conv(ch(4), ch(4)) + torgb(ch(4))
    r = 8
    while r <= res:
        synthesis += conv(ch(r // 2), ch(r)) + conv(ch(r), ch(r)) + torgb(ch(r))
        r *= 2
    return mapping + synthesis


def _stylegan2_resnet_d_params(res, channel_base, rgb=3, mbstd_channels=1):
    ch = lambda r: min(channel_base // r, 512)  # noqa: E731
    total = rgb * ch(res) + ch(res)  # fromrgb
    r = res
    while r > 4:
        c, out = ch(r), ch(r // 2)
        total += c * c * 9 + c + c * out * 9 + out + c * out  # conv0, conv1, skip (no bias)
        r //= 2
    c = ch(4)
    return total + (c + mbstd_channels) * c * 9 + c + c * 16 * c + c + c + 1  # conv, fc, out


def test_build_cifar10_generator_for_real():
    from keras_stylegan import Generator
    card = get_card("cifar10")
    g = Generator(**card.generator)
    count = sum(int(np.prod(v.shape)) for v in g.trainable_weights)
    assert count == _stylegan2_g_params(32, 16384, mapping_layers=2, num_classes=10) == 20_215_315
    z = np.random.RandomState(0).randn(2, 512).astype("float32")
    images = g(z, labels=np.array([1, 7]), psi=card.truncation["psi"], noise_mode="const")
    assert tuple(images.shape) == (2, 32, 32, 3) and np.all(np.isfinite(np.asarray(images)))


@pytest.mark.large
def test_stylegan_ffhq_card_has_nvidias_parameter_count():
    from keras_stylegan import Generator
    g = Generator(**get_card("stylegan-ffhq").generator)
    assert sum(int(np.prod(v.shape)) for v in g.trainable_weights) == 26_219_627  # Gs total, NVlabs/stylegan README


def test_build_smallest_discriminator_card_for_real():
    from keras_stylegan import Discriminator
    with_d = [get_card(n) for n in BUILTIN if n != "emoji" and get_card(n).discriminator
              and get_card(n).architecture == "stylegan2"
              and not get_card(n).conditional]
    card = min(with_d, key=lambda c: (parse_resolution(c.resolution), c.discriminator["channel_base"]))
    assert card.resolution == "256x256" and card.discriminator["channel_base"] == 16384
    assert card.discriminator["block_architecture"] == "resnet"
    d = Discriminator(**card.discriminator)
    count = sum(int(np.prod(v.shape)) for v in d.trainable_weights)
    assert count == _stylegan2_resnet_d_params(256, 16384)
    scores = d(np.zeros([2, 256, 256, 3], "float32"))  # a batch below the group size uses one group, as NVIDIA's
    assert tuple(scores.shape) == (2, 1) and np.all(np.isfinite(np.asarray(scores)))


def test_build_cifar10_discriminator_for_real():
    from keras_stylegan import Discriminator
    card = get_card("cifar10")
    d = Discriminator(**card.discriminator)
    # NVIDIA's 'orig' D at 512 channels: fromrgb 2,048 + 3 blocks x 4,719,616 + conv 2,364,416 + fc 4,194,816
    # + out 262,656 (to cmap_dim 512) + mapping.embed 5,632 (10 -> 512, no fc layers).
    assert sum(int(np.prod(v.shape)) for v in d.trainable_weights) == 20_988_416
    scores = d(np.zeros([2, 32, 32, 3], "float32"), labels=np.array([3, 9]))
    assert tuple(scores.shape) == (2, 1) and np.all(np.isfinite(np.asarray(scores)))


# -------------------------------------------------------------------------------------------- lookup and errors

def test_unknown_name_is_one_line_with_suggestion():
    with pytest.raises(ValueError, match=r"Unknown model card 'ffhk'\. Did you mean 'ffhq'") as info:
        get_card("ffhk")
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="Unknown model card 'zzzzzzzz'. See keras_stylegan"):
        get_card("zzzzzzzz")
    with pytest.raises(ValueError, match="Received: 3"):
        get_card(3)


def test_register_duplicate_overwrite_and_alias_clash():
    zoo = Registry(cards_package=None, entry_point_group=None)
    card = zoo.register(tiny_card())
    assert isinstance(card, ModelCard) and zoo.list() == ["tiny"] and zoo.get("tiny-alias") is card
    with pytest.raises(ValueError, match="'tiny' is already registered; pass overwrite=True"):
        zoo.register(tiny_card())
    replaced = zoo.register(tiny_card(description="New.", aliases=["t2"]), overwrite=True)
    assert zoo.get("tiny") is replaced and zoo.get("t2") is replaced
    with pytest.raises(ValueError, match="Unknown model card 'tiny-alias'"):
        zoo.get("tiny-alias")  # the replaced card's aliases left with it
    with pytest.raises(ValueError, match="Alias 't2' of model card 'other' is already taken by 'tiny'"):
        zoo.register(tiny_card("other", aliases=["t2"]))
    with pytest.raises(ValueError, match="Alias 'tiny' of model card 'other' is already taken by 'tiny'"):
        zoo.register(tiny_card("other", aliases=["tiny"]))
    assert zoo.unregister("t2") is replaced and zoo.list() == []


def test_module_level_register_sees_builtins():
    with pytest.raises(ValueError, match="'stylegan2-ffhq-1024' is already registered"):
        register(get_card("ffhq"))
    with pytest.raises(ValueError, match="Alias 'ffhq' of model card 'mine' is already taken by 'stylegan2-ffhq-1024'"):
        register(tiny_card("mine", aliases=["ffhq"]))
    register(tiny_card("my-model"))
    try:
        assert "my-model" in list_cards() and get_card("my-model-alias").name == "my-model"
    finally:
        unregister("my-model")
    assert "my-model" not in list_cards()


# -------------------------------------------------------------------------------------- round-trip and validation

def test_json_round_trip_of_every_card(tmp_path):
    for name in BUILTIN:
        card = get_card(name)
        assert ModelCard.from_dict(card.to_dict()) == card
        path = tmp_path / f"{name}.json"
        card.save(path)
        again = ModelCard.from_json(path)
        assert again == card and again.to_json() == card.to_json()
        assert json.loads(path.read_text())["generator"] == dict(card.generator)


def test_cards_are_frozen():
    card = get_card("ffhq")
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.name = "other"
    with pytest.raises(TypeError):
        card.generator["resolution"] = 8
    assert hash(card) == hash(ModelCard.from_dict(card.to_dict()))


@pytest.mark.parametrize("changes, message", [
    (dict(resolution="1000x1000"), "`resolution` must be a power-of-two resolution"),
    (dict(resolution=16), "`resolution` must be a 'WxH' string"),
    (dict(architecture="stylegan4"), r"`architecture` must be one of \('stylegan', 'stylegan2', 'stylegan3'\)"),
    (dict(generator=dict(architecture="stylegan2", resolution=32)), "`generator.resolution` must be the card's"),
    (dict(generator=dict(architecture="stylegan", resolution=16)), "`generator.architecture` must be 'stylegan2'"),
    (dict(generator=dict(resolution=16)), "`generator` must be a JSON object with `architecture`"),
    (dict(conditional=True), "`conditional` must be true exactly when `num_classes` > 0"),
    (dict(content_resolution="512x384"), "`content_resolution` must be None or a 'WxH' string within 16x16"),
    (dict(urls=["zoo/tiny.pkl"]), r"`urls` must be http\(s\) URLs for a pickle source"),
    (dict(urls=[]), "`urls` must be a non-empty list"),
    (dict(source_format="onnx"), "`source_format` must be one of"),
    (dict(sha256="abc"), "`sha256` must be None or 64 hexadecimal digits"),
    (dict(name="My Model"), "`name` must be a lowercase id"),
    (dict(aliases=["tiny"]), "`aliases` must be unique and different from `name`"),
    (dict(paper={"title": "T", "arxiv": "x"}), "`paper.arxiv` must be an arXiv id"),
    (dict(truncation={"psi": "0.7"}), "`truncation.psi` must be a finite number"),
    (dict(licence="MIT"), r"unknown field `licence` \(did you mean `license`\?\)"),
])
def test_invalid_cards_name_file_and_field_in_one_line(tmp_path, changes, message):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(tiny_card(**changes)))
    with pytest.raises(ValueError, match=message) as info:
        ModelCard.from_json(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_missing_field_and_bad_json(tmp_path):
    fields = tiny_card()
    del fields["urls"]
    with pytest.raises(ValueError, match="<mine>: missing required field `urls`"):
        ModelCard.from_dict(fields, source="<mine>")
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=f"{path}: invalid JSON"):
        ModelCard.from_json(path)


def test_builtin_file_name_must_match_card_name(tmp_path, monkeypatch):
    package = tmp_path / "my_cards"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "wrong-name.json").write_text(json.dumps(tiny_card()))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="my_cards/wrong-name.json: `name` must match the file name"):
        Registry(cards_package="my_cards", entry_point_group=None).list()


# ------------------------------------------------------------------------------------------- plugins (real dists)

def _write_dist(root, dist, module, source, entry_points):
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{lines}")
    (root / f"{module}.py").write_text(textwrap.dedent(source))


GOOD_PLUGIN = f"""
    from keras_stylegan.zoo.registry import ModelCard
    BASE = {tiny_card()!r}

    def cards():
        return [dict(BASE, name="plugin-a", aliases=["pa"]), dict(BASE, name="plugin-b", aliases=[])]

    SINGLE = ModelCard.from_dict(dict(BASE, name="plugin-c", aliases=[]))
"""

LIST_SCRIPT = """
import json, sys
from keras_stylegan.zoo.registry import get_card, list_cards
names = list_cards()
print(json.dumps({"names": names, "pa": get_card("pa").name, "tf": "tensorflow" in sys.modules}))
"""


def _run_zoo(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", LIST_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_plugin_cards_from_an_installed_distribution(tmp_path):
    _write_dist(tmp_path, "keras_stylegan_test_plugin", "ks_test_plugin", GOOD_PLUGIN,
                {"many": "ks_test_plugin:cards", "one": "ks_test_plugin:SINGLE"})
    result, stderr = _run_zoo(tmp_path)
    assert {"plugin-a", "plugin-b", "plugin-c"} <= set(result["names"])
    assert set(BUILTIN) <= set(result["names"]) and result["pa"] == "plugin-a"
    assert not result["tf"], "listing cards must not import TensorFlow"
    assert "Ignoring" not in stderr


def test_broken_plugins_warn_once_each_and_the_zoo_still_works(tmp_path):
    _write_dist(tmp_path, "keras_stylegan_test_plugin", "ks_test_plugin", GOOD_PLUGIN,
                {"many": "ks_test_plugin:cards"})
    broken = f"""
        BASE = {tiny_card()!r}
        def half_bad():  # one valid card and one invalid: neither is added
            return [dict(BASE, name="half-good", aliases=[]), dict(BASE, name="half-bad", resolution="3x3")]
        def clash():
            return dict(BASE, name="stylegan2-ffhq-1024")
        NOT_A_CARD = 42
    """
    _write_dist(tmp_path, "keras_stylegan_broken_plugin", "ks_broken_plugin", broken,
                {"half": "ks_broken_plugin:half_bad", "clash": "ks_broken_plugin:clash",
                 "number": "ks_broken_plugin:NOT_A_CARD", "missing": "ks_no_such_module:cards"})
    result, stderr = _run_zoo(tmp_path)
    assert set(BUILTIN) <= set(result["names"]) and {"plugin-a", "plugin-b"} <= set(result["names"])
    assert not {"half-good", "half-bad"} & set(result["names"])
    warnings = [line for line in stderr.splitlines() if "Ignoring keras_stylegan.zoo plugin" in line]
    assert len(warnings) == 4, stderr
    for name, reason in [("half", "`resolution` must be"), ("clash", "already registered"),
                         ("number", "Received: int"), ("missing", "ModuleNotFoundError")]:
        assert sum(f"plugin '{name}'" in line and reason in line for line in warnings) == 1, (name, stderr)
