"""`TrainingConfig`: NVIDIA's presets term by term, validation, JSON, and old training_options.json files."""
import json
import math

import pytest

from keras_stylegan.training.config import ConfigError, TrainingConfig, changed_options


def nvidia_auto(res, gpus):
    """stylegan2-ada-pytorch train.py, `cfg == 'auto'`, written out from its formulas."""
    mb = max(min(gpus * min(4096 // res, 32), 64), gpus)
    return dict(batch_size=mb, mbstd_group_size=min(mb // gpus, 4), channel_base=int((1 if res >= 512 else 0.5) * 32768),
                channel_max=512, learning_rate=0.002 if res >= 1024 else 0.0025, r1_gamma=0.0002 * res ** 2 / mb,
                ema_kimg=mb * 10 / 32, ema_rampup=0.05, mapping_layers=2, conv_clamp=256.0, z_dim=512, w_dim=512)


# train.py `cfg_specs`: mb, mbstd, fmaps, lrate, gamma, ema, ramp, map.
NVIDIA_FIXED = {
    "stylegan2": (32, 4, 1, 0.002, 10, 10, None, 8),
    "paper256": (64, 8, 0.5, 0.0025, 1, 20, None, 8),
    "paper512": (64, 8, 1, 0.0025, 0.5, 20, None, 8),
    "paper1024": (32, 4, 1, 0.002, 2, 10, None, 8),
    "cifar": (64, 32, 1, 0.0025, 0.01, 500, 0.05, 2),
}


@pytest.mark.parametrize("gpus", [1, 2, 8])
def test_auto_preset_is_nvidias_formula(gpus):
    for res in (8, 16, 32, 64, 128, 256, 512, 1024):
        config = TrainingConfig(cfg="auto").resolve((res, res), channels=3, replicas=gpus)
        for name, value in nvidia_auto(res, gpus).items():
            assert getattr(config, name) == pytest.approx(value, rel=1e-9), (res, gpus, name)
        assert config.pl_weight == 2 and config.style_mixing_prob == 0.9 and config.d_block_architecture == "resnet"
    # The figures: 32 px batch 32 (not 16), gamma 0.0064; 1024 px batch 4, lr 0.002.
    small = TrainingConfig(cfg="auto").resolve((32, 32))
    assert (small.batch_size, small.r1_gamma, small.channel_max) == (32, 0.0064, 512)
    large = TrainingConfig(cfg="auto").resolve((1024, 1024))
    assert (large.batch_size, large.learning_rate, large.mapping_layers) == (4, 0.002, 2)


@pytest.mark.parametrize("cfg", sorted(NVIDIA_FIXED))
def test_fixed_presets_are_nvidias(cfg):
    mb, mbstd, fmaps, lrate, gamma, ema, ramp, mapping = NVIDIA_FIXED[cfg]
    config = TrainingConfig(cfg=cfg).resolve((64, 64), channels=3)
    assert (config.batch_size, config.mbstd_group_size, config.channel_base, config.channel_max) == \
        (mb, mbstd, int(fmaps * 32768), 512)
    assert (config.learning_rate, config.r1_gamma, config.ema_kimg, config.ema_rampup, config.mapping_layers) == \
        (lrate, gamma, ema, ramp, mapping)
    assert config.conv_clamp == 256
    cifar = cfg == "cifar"  # pl off, mixing off, 'orig' discriminator
    assert (config.pl_weight == 0, config.style_mixing_prob == 0, config.d_block_architecture == "orig") == (cifar,) * 3


def test_user_options_beat_the_preset_and_gamma_stays_nvidias():
    config = TrainingConfig(cfg="auto", batch_size=8, learning_rate=0.001, channel_max=64).resolve((32, 32))
    assert (config.batch_size, config.learning_rate, config.channel_max) == (8, 0.001, 64)
    assert config.r1_gamma == pytest.approx(0.0064)  # NVIDIA: --batch does not change the preset's gamma


def test_default_preset_follows_the_device():
    assert TrainingConfig().resolve((32, 32), gpu=False).cfg == "cpu"
    assert TrainingConfig().resolve((32, 32), gpu=True).cfg == "auto"
    cpu = TrainingConfig().resolve((32, 32))
    assert cpu.channel_max <= 128 and cpu.mapping_layers <= 2 and cpu.batch_size <= 32
    # cpu: batch 8 with R1 gamma and EMA of auto's batch 32 (NVIDIA's formulas at 32, kept as its --batch does)
    auto32 = TrainingConfig(cfg="auto").resolve((32, 32))
    assert (cpu.batch_size, cpu.r1_gamma, cpu.ema_kimg) == (8, auto32.r1_gamma, auto32.ema_kimg) == (8, 0.0064, 10.0)
    assert TrainingConfig(cfg="cpu").resolve((128, 128)).r1_gamma == 0.0002 * 128 ** 2 / 16
    # cpu: no path length and no style mixing (NVIDIA's cifar choices; their CPU time goes to images instead)
    assert (cpu.pl_weight, cpu.style_mixing_prob) == (0.0, 0.0)
    chosen = TrainingConfig(cfg="cpu", pl_weight=2.0, style_mixing_prob=0.9).resolve((32, 32))
    assert (chosen.pl_weight, chosen.style_mixing_prob) == (2.0, 0.9)
    auto = TrainingConfig(cfg="auto").resolve((32, 32))
    assert (auto.pl_weight, auto.style_mixing_prob) == (2.0, 0.9)
    # cpu: D learns at half G's rate, also when --lr is changed; a --dlr given wins; NVIDIA's presets: D at G's.
    assert (cpu.learning_rate, cpu.d_learning_rate) == (0.001, 0.0005)
    assert TrainingConfig(cfg="cpu", learning_rate=0.002).resolve((32, 32)).d_learning_rate == 0.001
    assert TrainingConfig(cfg="cpu", d_learning_rate=0.001).resolve((32, 32)).d_learning_rate == 0.001
    assert auto.d_learning_rate is None


def test_stylegan_2019_recipe_tables():
    config = TrainingConfig(architecture="stylegan", cfg="auto").resolve((1024, 1024))
    assert config.batch_table == {8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4, 1024: 4}
    assert {k: v for k, v in config.learning_rate_table.items() if v != 0.001} == \
        {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}
    assert config.batch_size is None and config.learning_rate is None and config.r1_interval == 1
    assert (config.channel_base, config.mapping_layers, config.r1_gamma, config.conv_clamp) == (16384, 8, 10.0, None)
    with pytest.raises(ConfigError, match="StyleGAN2 preset"):
        TrainingConfig(architecture="stylegan", cfg="paper256")


@pytest.mark.parametrize("name, value", [
    ("kimg", math.inf), ("kimg", math.nan), ("kimg", 0), ("kimg", 1e300), ("tick_kimg", math.inf),
    ("ema_kimg", math.nan), ("ada_target", math.nan), ("learning_rate", math.nan), ("learning_rate", math.inf),
    ("r1_gamma", -1.0), ("augment_p", 1.5), ("batch_size", 0), ("channel_max", 10 ** 9), ("seed", -1),
    ("seed", 2 ** 64), ("mapping_layers", 2 ** 31), ("resolution", 16384), ("resolution", 48), ("channels", 5),
    ("cfg", "huge"), ("augment", "sometimes"), ("conv_clamp", math.inf), ("lod_initial_resolution", 12),
    ("batch_size", True), ("xflip", "yes"), ("style_mixing_prob", math.nan), ("resume", ""), ("resume", 3),
    ("freezed", -1), ("freezed", 1.5), ("freeze_g", "all"), ("network_kwargs", {"mapping": {}}),
])
def test_bad_values_are_refused_naming_the_option(name, value):
    with pytest.raises(ConfigError, match=name if name != "resolution" else "resolution|power of two") as info:
        TrainingConfig(**{name: value})
    assert info.value.field == name and "\n" not in str(info.value)


def test_minibatch_sizes_are_checked_where_used_only():
    # The 1-GPU table at 512 px is 4 images: 8 devices cannot split it, which matters only if 512 px runs.
    config = TrainingConfig(architecture="stylegan", cfg="auto").resolve((256, 256), replicas=8)
    assert config.schedule(8).used_batch_sizes()[256] == 8
    with pytest.raises(ConfigError, match="devices"):
        TrainingConfig(architecture="stylegan", cfg="auto").resolve((512, 512), replicas=8)
    with pytest.raises(ConfigError, match="mbstd"):
        TrainingConfig(batch_size=6, mbstd_group_size=4, cfg="auto").resolve((32, 32))


def test_json_round_trip_and_unknown_option():
    config = TrainingConfig(architecture="stylegan", cfg="cpu", kimg=12, xflip=True).resolve((16, 16), channels=2)
    text = json.dumps(config.to_json())
    assert TrainingConfig.from_json(json.loads(text)) == config
    with pytest.raises(ConfigError, match="unknown"):
        config.replace(learning_rat=0.1)


def test_old_training_options_files_keep_what_those_runs_used():
    old = {  # written by the trainer before TrainingConfig (no cfg, no conv_clamp, per-GPU batch schedule)
        "channel_base": 16384, "channel_max": 512, "mapping_layers": 8, "z_dim": 512, "w_dim": 512, "batch_size": 16,
        "r1_gamma": 10.0, "ema_kimg": 10.0, "ema_rampup": None, "learning_rate": 0.001, "style_mixing_prob": 0.9,
        "mbstd_group_size": 4, "architecture": "stylegan", "resolution": [32, 32], "channels": 4, "kimg": 300.0,
        "augment": "ada", "augment_p": 0.0, "ada_target": 0.6, "ada_kimg": 100.0, "loss": "logistic", "xflip": False,
        "fit": "crop", "tick_kimg": 4.0, "snapshot_ticks": 10, "lod_initial_resolution": 8,
        "lod_training_kimg": 600.0, "lod_transition_kimg": 600.0, "num_classes": 0, "seed": 0, "data": "x.zip",
        "num_images": 100, "batch_schedule": {"4": 64, "8": 32, "16": 16, "32": 8},
    }
    config = TrainingConfig.from_json(old)
    assert config.cfg == "legacy" and config.conv_clamp is None and config.r1_interval == 1
    assert config.batch_table == {4: 64, 8: 32, 16: 16, 32: 8}
    schedule = config.schedule()
    assert schedule.batch(0) == 32 and schedule.learning_rate(0) == 0.001
    without = {k: v for k, v in old.items() if k not in ("batch_schedule", "mbstd_group_size", "ada_kimg")}
    without.update(architecture="stylegan2", learning_rate=0.0025)
    config = TrainingConfig.from_json(without)
    assert (config.mbstd_group_size, config.ada_kimg, config.r1_interval, config.batch_size) == (4, 500.0, 16, 16)


def test_changed_options_compares_values():
    a = TrainingConfig(learning_rate=0.002, channel_max=128)
    b = TrainingConfig(learning_rate=0.001, channel_max=128)
    assert changed_options(a, b, ["learning_rate", "channel_max"]) == ["learning_rate"]


def test_class_groups_need_classes_and_minibatch_stddev():
    with pytest.raises(ConfigError, match="class_groups.*conditional run"):
        TrainingConfig(cfg="auto", class_groups=True).resolve((32, 32), 3)
    with pytest.raises(ConfigError, match="class_groups.*mbstd_group_size"):
        TrainingConfig(cfg="auto", class_groups=True, clusters=4, mbstd_group_size=0).resolve((32, 32), 3)
    config = TrainingConfig(cfg="cpu", class_groups=True, conditional=True).resolve((32, 32), 3, num_classes=10)
    assert config.num_classes == 10 and "class_groups" in config.describe()
    assert TrainingConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    assert not TrainingConfig(cfg="auto").resolve((32, 32), 3).class_groups  # off unless asked
