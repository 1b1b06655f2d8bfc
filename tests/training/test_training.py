"""The StyleGAN trainer: losses, schedules, the train step, runs, checkpoints, resume and the kill test."""
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_stylegan import Discriminator, Generator
from keras_stylegan.training import losses
from keras_stylegan.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from keras_stylegan.training.run import build_gan, train
from keras_stylegan.training.schedule import ema_beta, lod_at
from keras_stylegan.training.stylegan import StyleGAN

TINY = dict(channel_base=32, channel_max=8, z_dim=8, w_dim=8, mapping_layers=1)
TINY_TRAIN = dict(resolution=8, channel_base=32, channel_max=8, z_dim=8, w_dim=8, mapping_layers=1, batch_size=4,
                  tick_kimg=0.008, snapshot_ticks=3, augment="none", verbose=0)


def tiny_gan(architecture="stylegan2", resolution=8, channels=2, **kwargs):
    g = Generator(architecture=architecture, resolution=resolution, channels=channels, **TINY)
    d = Discriminator(architecture=architecture, resolution=resolution, channels=channels, channel_base=32,
                      channel_max=8)
    gan = StyleGAN(g, d, **kwargs)
    gan.compile()
    return gan


def images(n=16, resolution=8, channels=2, seed=0):
    return np.random.RandomState(seed).randint(0, 256, [n, resolution, resolution, channels]).astype("uint8")


def all_state(gan):
    return {name: np.array(v.numpy()) for name, v in gan.state_variables().items()}


# ---- losses and schedules against hand-written formulas -----------------------------------------

def test_losses_match_formulas():
    real = np.array([[0.5], [-2.0], [3.0]], "float32")
    fake = np.array([[1.0], [0.0], [-1.5]], "float32")
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    np.testing.assert_allclose(losses.logistic_d_loss(real, fake), (softplus(fake) + softplus(-real))[:, 0], rtol=1e-6)
    np.testing.assert_allclose(losses.logistic_g_loss(fake), softplus(-fake)[:, 0], rtol=1e-6)
    np.testing.assert_allclose(losses.wgan_d_loss(real, fake, 0.001), (fake - real + 0.001 * real ** 2)[:, 0],
                               rtol=1e-6)
    grads = np.random.RandomState(0).randn(3, 4, 4, 2).astype("float32")
    norms = np.sqrt((grads ** 2).sum(axis=(1, 2, 3)))
    np.testing.assert_allclose(losses.r1_penalty(grads), norms ** 2, rtol=1e-5)
    np.testing.assert_allclose(losses.gradient_penalty(grads, 2.0), (norms - 2.0) ** 2 / 4, rtol=1e-4)
    ws_grads = np.random.RandomState(1).randn(3, 5, 7).astype("float32")
    np.testing.assert_allclose(losses.path_lengths(ws_grads), np.sqrt((ws_grads ** 2).sum(2).mean(1)), rtol=1e-5)


def test_lod_schedule_matches_nvidia_training_schedule():
    # 32 px model starting at 8 px: lod 2, 600k stabilizing, 600k fading, per resolution.
    assert float(lod_at(0, 3, 2)) == 2.0
    assert float(lod_at(599_000, 3, 2)) == 2.0
    assert float(lod_at(900_000, 3, 2)) == pytest.approx(1.5)
    assert float(lod_at(1_200_000, 3, 2)) == pytest.approx(1.0)
    assert float(lod_at(2_100_000, 3, 2)) == pytest.approx(0.5)
    assert float(lod_at(10 ** 8, 3, 2)) == 0.0
    assert float(lod_at(0, 3, 5)) == 3.0  # the start is clipped to the networks' max lod


def test_ema_beta_half_life_and_rampup():
    assert float(ema_beta(10_000, 10 ** 6, ema_kimg=10.0)) == pytest.approx(0.5)
    assert float(ema_beta(32, 10 ** 6, ema_kimg=10.0)) == pytest.approx(0.5 ** (32 / 10_000))
    # Early on the rampup caps the half-life at 5% of the images shown.
    assert float(ema_beta(32, 6400, ema_kimg=10.0, ema_rampup=0.05)) == pytest.approx(0.5 ** (32 / 320))


# ---- the model --------------------------------------------------------------------------------

def test_compile_defaults_are_nvidias_with_lazy_regularization_correction():
    gan = tiny_gan()
    g, d = gan.g_optimizer, gan.d_optimizer
    assert float(g.learning_rate) == pytest.approx(0.0025 * 4 / 5)
    assert float(d.learning_rate) == pytest.approx(0.0025 * 16 / 17)
    assert g.beta_1 == 0.0 and g.beta_2 == pytest.approx(0.99 ** (4 / 5)) and g.epsilon == 1e-8
    assert d.beta_2 == pytest.approx(0.99 ** (16 / 17))
    sg1 = tiny_gan("stylegan")
    assert float(sg1.g_optimizer.learning_rate) == pytest.approx(0.001)
    assert sg1.r1_interval == 1 and sg1.pl_weight == 0
    # NVIDIA's lazy-regularization corrections: G keeps its ratio without path length (cifar), WGAN-GP's
    # penalty runs every step so D has none, and StyleGAN (2019) has no lazy regularization at all.
    no_pl = tiny_gan(pl_weight=0.0)
    assert float(no_pl.g_optimizer.learning_rate) == pytest.approx(0.0025 * 4 / 5)
    assert no_pl.g_optimizer.beta_2 == pytest.approx(0.99 ** (4 / 5))
    wgan = tiny_gan(loss="wgan-gp")
    assert float(wgan.d_optimizer.learning_rate) == pytest.approx(0.0025) and wgan.d_optimizer.beta_2 == 0.99
    assert float(sg1.d_optimizer.learning_rate) == float(sg1.g_optimizer.learning_rate) == pytest.approx(0.001)


def test_fit_trains_counts_and_tracks():
    gan = tiny_gan(style_mixing_prob=0.9)
    before = all_state(gan)
    history = gan.fit(images().astype("float32") / 127.5 - 1, batch_size=4, epochs=2, verbose=0)
    after = all_state(gan)
    assert int(gan.nimg.numpy()) == 32 and int(gan.step.numpy()) == 8
    for name in ("g_loss", "d_loss", "r1", "pl", "real_score", "fake_score", "kimg", "lod", "augment_p"):
        assert name in history.history and np.isfinite(history.history[name]).all(), name
    assert history.history["kimg"][-1] > history.history["kimg"][0]
    changed = lambda prefix: any(not np.array_equal(before[k], after[k]) for k in before if k.startswith(prefix))  # noqa
    assert changed("G/") and changed("D/") and changed("G_ema/") and changed("G_opt/") and changed("D_opt/")
    assert float(gan.pl_mean.numpy()) > 0  # path length ran (steps 0 and 4)
    w_avg = [k for k in after if k.startswith("G/") and k.endswith("w_avg")]
    assert w_avg and not np.array_equal(before[w_avg[0]], after[w_avg[0]])
    # One step with a half-life of one batch: G_ema = G + (G_ema_before - G) * 0.5, on every trainable weight.
    gan = tiny_gan(ema_kimg=0.004)
    before = all_state(gan)
    gan.fit(images(4).astype("float32") / 127.5 - 1, batch_size=4, epochs=1, verbose=0)
    after = all_state(gan)
    trainable = {v.path.split("/", 1)[1] for v in gan.generator.trainable_variables}
    for name in trainable:
        expected = after["G/" + name] + (before["G_ema/" + name] - after["G/" + name]) * 0.5
        np.testing.assert_allclose(after["G_ema/" + name], expected, rtol=1e-5, atol=1e-6, err_msg=name)
    assert any(not np.allclose(after["G_ema/" + n], after["G/" + n]) for n in trainable)


def test_r1_is_lazy_every_interval_and_wgan_gp_trains():
    gan = tiny_gan(r1_interval=4, pl_weight=0.0, augment="fixed", augment_p=0.3)  # fixed-p ADA rides along
    x = images().astype("float32") / 127.5 - 1
    history = gan.fit(x[:4], batch_size=4, epochs=1, verbose=0)  # step 0: R1 computed
    assert history.history["r1"][0] > 0
    history = gan.fit(x[:12], batch_size=4, epochs=1, verbose=0)  # steps 1-3: no R1 step, tracker stays 0
    assert history.history["r1"][0] == 0
    assert float(gan.p.numpy()) == pytest.approx(0.3) and history.history["augment_p"][0] == pytest.approx(0.3)
    wgan = tiny_gan(loss="wgan-gp")
    history = wgan.fit(x, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all() and history.history["r1"][0] > 0


def test_progressive_growing_fades_g_and_d_and_lod_reals_match_reference():
    gan = tiny_gan("stylegan", resolution=16, lod_initial_resolution=4, lod_training_kimg=0.008,
                   lod_transition_kimg=0.008)
    assert gan.initial_lod == 2 and float(gan.lod()) == 2.0
    x = images(16, 16).astype("float32") / 127.5 - 1
    gan.fit(x, batch_size=4, epochs=1, verbose=0)  # 16 images: one stabilize + one fade phase
    assert float(gan.lod()) == pytest.approx(1.0)
    gan.fit(x[:12], batch_size=4, epochs=1, verbose=0)  # 28 images: halfway through the next fade
    assert float(gan.lod()) == pytest.approx(0.5)
    gan.sync_lod()
    assert float(gan.generator_ema.synthesis.lod.numpy()) == pytest.approx(0.5)
    assert float(gan.discriminator.lod.numpy()) == pytest.approx(0.5)

    def box_nearest(a, f):  # NVIDIA's dataset lods: box-downscaled, then nearest-upscaled
        n, h, w, c = a.shape
        small = a.reshape(n, h // f, f, w // f, f, c).mean(axis=(2, 4))
        return small.repeat(f, axis=1).repeat(f, axis=2)

    for lod in (0.0, 0.25, 1.0, 1.5, 2.0):
        level, frac = int(np.floor(lod)), lod - np.floor(lod)
        current = box_nearest(x, 2 ** level)
        expected = current + (box_nearest(x, 2 ** (level + 1)) - current) * frac
        np.testing.assert_allclose(gan._lod_reals(tf.constant(x), tf.constant(lod)), expected, atol=1e-5)


def test_skipping_hidden_levels_trains_exactly_like_the_full_networks():
    x = images(16, 16).astype("float32") / 127.5 - 1
    for nimg, min_lod in ((0, 2), (12, 1)):  # lod 2 (4x4 only), then 1.5 (fading in 8x8)
        states = []
        for level in (0, min_lod):
            keras.utils.set_random_seed(1)
            gan = tiny_gan("stylegan", resolution=16, lod_initial_resolution=4, lod_training_kimg=0.008,
                           lod_transition_kimg=0.008)
            # NVIDIA's init (constant ones, noise strength 0) has zero variance before the first instance
            # norm, which blows round-off up to O(1); give that layer real variance, like trained weights.
            const = gan.generator.synthesis.blocks[0].const.const
            const.assign(np.random.RandomState(2).randn(*const.shape).astype("float32"))
            gan.nimg.assign(nimg)
            gan.set_min_lod(level)
            gan.fit(x[:8], batch_size=4, epochs=1, verbose=0)  # lod stays >= min_lod for both steps
            states.append(all_state(gan))
        for name in states[0]:
            np.testing.assert_allclose(states[1][name], states[0][name], rtol=1e-4, atol=1e-5, err_msg=name)
    gan.set_min_lod(2)  # a promise the schedule breaks (lod is 0.5 here) stops the step
    with pytest.raises(tf.errors.InvalidArgumentError, match="min_lod"):
        gan.fit(x[:4], batch_size=4, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="progressive"):
        tiny_gan().set_min_lod(1)


def test_growing_run_skips_hidden_levels_per_phase(tmp_path):
    data = tmp_path / "data.npy"
    np.save(data, images(24, 16))
    seen = []
    original = StyleGAN.set_min_lod

    def record(self, min_lod):
        if not seen or seen[-1][1] != min_lod:
            seen.append((int(self.nimg.numpy()), min_lod))
        original(self, min_lod)

    StyleGAN.set_min_lod = record
    try:
        gan = train(str(data), tmp_path / "run", architecture="stylegan", kimg=0.048, lod_initial_resolution=4,
                    lod_training_kimg=0.008, lod_transition_kimg=0.008, **dict(TINY_TRAIN, resolution=16))
    finally:
        StyleGAN.set_min_lod = original
    # Ticks of 8 images: 4x4 (lod 2), fade (2 -> 1), 8x8, fade (1 -> 0), 16x16 twice. The hidden levels
    # change where the lod passes an integer: the first step of each fade-in.
    assert seen == [(0, 2), (12, 1), (28, 0)]
    stats = [json.loads(line) for line in open(tmp_path / "run" / "stats.jsonl")]
    # Each tick's lod is its last step's (4 images a step, lod read before the step).
    assert [s["lod"] for s in stats] == pytest.approx([2.0, 1.5, 1.0, 0.5, 0.0, 0.0])
    assert int(gan.nimg.numpy()) == 48


def test_ada_raises_p_when_d_overfits():
    gan = tiny_gan(augment="ada", ada_interval=1, ada_kimg=0.1, ada_target=0.0)
    # Target 0: any positive mean sign on reals pushes p up by batch / (ada_kimg * 1000) per step.
    gan.discriminator.epilogue.out.bias.assign(np.full(gan.discriminator.epilogue.out.bias.shape, 100.0, "float32"))
    x = images().astype("float32") / 127.5 - 1
    gan.fit(x[:8], batch_size=4, epochs=1, verbose=0)
    assert float(gan.p.numpy()) == pytest.approx(0.08, abs=1e-6)


def test_augmentation_pipeline_is_skipped_while_p_is_zero(monkeypatch):
    """At p = 0 the pipeline is the identity, so the step does not run it (its resampling costs ~30 %)."""
    from keras_stylegan.training import augment as augment_module

    calls = []

    def marked_augment(images, p, seed, pipeline="bgc"):
        calls.append(pipeline)
        return tf.zeros_like(images) + 7.0  # not the identity: shows whether the pipeline's output was used

    monkeypatch.setattr(augment_module, "augment", marked_augment)
    gan = tiny_gan(augment="ada")
    x = tf.constant(images(4).astype("float32") / 127.5 - 1)
    np.testing.assert_array_equal(gan._augment(x, 0).numpy(), x.numpy())
    gan.p.assign(0.2)
    np.testing.assert_array_equal(gan._augment(x, 0).numpy(), np.full(x.shape, 7.0, "float32"))
    assert calls


def test_bad_arguments_are_clear():
    g = Generator(resolution=8, channels=2, **TINY)
    d = Discriminator(resolution=8, channels=3, channel_base=32, channel_max=8)
    with pytest.raises(ValueError, match="do not match"):
        StyleGAN(g, d)
    d = Discriminator(resolution=8, channels=2, channel_base=32, channel_max=8)
    with pytest.raises(ValueError, match="augment"):
        StyleGAN(g, d, augment="sometimes")
    with pytest.raises(ValueError, match="augment_p"):
        StyleGAN(g, d, augment="fixed", augment_p=2.0)
    with pytest.raises(ValueError, match="ada_kimg"):
        StyleGAN(g, d, ada_kimg=0)


# ---- checkpoints, runs, resume --------------------------------------------------------------------

def test_checkpoint_round_trip_and_mismatch(tmp_path):
    gan = tiny_gan()
    gan.fit(images().astype("float32") / 127.5 - 1, batch_size=4, epochs=1, verbose=0)
    path = tmp_path / "checkpoint.h5"
    save_checkpoint(path, gan, {"tick": 3})
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    fresh = tiny_gan()
    assert load_checkpoint(path, fresh) == {"tick": 3}
    expected, restored = all_state(gan), all_state(fresh)
    assert expected.keys() == restored.keys()
    for name in expected:
        np.testing.assert_array_equal(restored[name], expected[name], err_msg=name)
    other = tiny_gan(channels=3)
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(path, other)
    (tmp_path / "broken.h5").write_bytes(b"not hdf5")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "broken.h5", tiny_gan())


def test_run_directory_and_resume_equals_uninterrupted_run(tmp_path):
    data = tmp_path / "data.npy"
    np.save(data, images(24))
    straight = train(str(data), tmp_path / "straight", kimg=0.024, **TINY_TRAIN)
    run = tmp_path / "resumed"
    train(str(data), run, kimg=0.008, **TINY_TRAIN)
    resumed = train(str(data), run, kimg=0.024, **TINY_TRAIN)
    assert int(resumed.nimg.numpy()) == int(straight.nimg.numpy()) == 24
    a, b = all_state(straight), all_state(resumed)
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-5, atol=1e-6, err_msg=name)
    files = set(os.listdir(run))
    assert {"training_options.json", "stats.jsonl", "checkpoint.h5", "reals.png", "logs"} <= files
    assert any(f.startswith("fakes") for f in files) and any(f.startswith("network-snapshot-") for f in files)
    stats = [json.loads(line) for line in open(run / "stats.jsonl")]
    assert [s["tick"] for s in stats] == [1, 2, 3] and stats[-1]["kimg"] == pytest.approx(0.024)
    from keras_stylegan.zoo import load

    snapshot = sorted(f for f in files if f.startswith("network-snapshot-"))[-1]
    g = load(str(run / snapshot))
    assert tuple(g(np.zeros([1, 8], "float32")).shape) == (1, 8, 8, 2)


def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    from keras_stylegan.training.run import TrainingError

    data = tmp_path / "data.npy"
    np.save(data, images(16))
    run = tmp_path / "run"
    train(str(data), run, kimg=0.008, **TINY_TRAIN)
    good = open(run / "checkpoint.h5", "rb").read()
    # Make the resumed run diverge: a non-finite discriminator weight in the checkpoint.
    gan = build_gan(json.load(open(run / "training_options.json")))
    gan.compile()
    metadata = load_checkpoint(run / "checkpoint.h5", gan)
    bias = gan.discriminator.epilogue.out.bias
    bias.assign(np.full(bias.shape, np.inf, "float32"))
    save_checkpoint(run / "checkpoint.h5", gan, metadata)
    good = open(run / "checkpoint.h5", "rb").read()
    with pytest.raises(TrainingError, match="(d_loss|g_loss) is (nan|inf)") as info:
        train(str(data), run, kimg=0.016, **TINY_TRAIN)
    assert open(run / "checkpoint.h5", "rb").read() == good
    named = str(info.value).rsplit(" ", 1)[-1]
    assert os.path.isfile(named) and named == str(run / "checkpoint.h5")


KILL_SCRIPT = """
import sys
from keras_stylegan.training.run import train
train(sys.argv[1], sys.argv[2], kimg=float(sys.argv[3]), resolution=8, channel_base=32, channel_max=8, z_dim=8,
      w_dim=8, mapping_layers=1, batch_size=4, tick_kimg=0.008, augment="ada", verbose=0)
"""


def test_kill_mid_run_then_resume_continues_from_last_checkpoint(tmp_path):
    data = tmp_path / "data.npy"
    np.save(data, images(24))
    script = tmp_path / "train.py"
    script.write_text(KILL_SCRIPT)
    run = tmp_path / "run"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, str(script), str(data), str(run), "100"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            stats = run / "stats.jsonl"
            if stats.exists() and len(stats.read_text().splitlines()) >= 2:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the training subprocess wrote no checkpoint in time")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    # Whatever the kill interrupted, a leftover temporary file must never be read as a checkpoint.
    (run / ".checkpoint-garbage.tmp").write_bytes(b"half-written")
    gan_at_kill = build_gan(json.load(open(run / "training_options.json")))
    gan_at_kill.compile()
    tick = load_checkpoint(run / "checkpoint.h5", gan_at_kill)["tick"]
    assert tick >= 2
    kimg_next = (tick + 1) * 0.008
    subprocess.run([sys.executable, str(script), str(data), str(run), str(kimg_next)], env=env, check=True,
                   timeout=240, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    resumed = build_gan(json.load(open(run / "training_options.json")))
    resumed.compile()
    assert load_checkpoint(run / "checkpoint.h5", resumed)["tick"] == tick + 1
    assert int(resumed.nimg.numpy()) == int(gan_at_kill.nimg.numpy()) + 8
    # An uninterrupted run to the same point has the identical state: weights, optimizer slots, counters, ADA p.
    subprocess.run([sys.executable, str(script), str(data), str(tmp_path / "straight"), str(kimg_next)], env=env,
                   check=True, timeout=240, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    straight = build_gan(json.load(open(tmp_path / "straight" / "training_options.json")))
    straight.compile()
    load_checkpoint(tmp_path / "straight" / "checkpoint.h5", straight)
    a, b = all_state(straight), all_state(resumed)
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


def test_training_never_asks_xla_even_where_keras_would(monkeypatch):
    # With a GPU visible, Keras' jit_compile="auto" picks XLA, which cannot compile the regularized step
    # (run-time shapes in the lazy R1's second-order gradients). Stand in for that machine's decision.
    monkeypatch.setattr(StyleGAN, "_resolve_auto_jit_compile", lambda self: True)
    gan = tiny_gan(r1_interval=1)
    assert gan.jit_compile is False
    gan.fit(images(8).astype("float32") / 127.5 - 1, batch_size=4, epochs=1, verbose=0)  # R1 and mbstd included
    assert int(gan.nimg.numpy()) == 8
    with pytest.raises(ValueError, match="jit_compile"):
        gan.compile(jit_compile=True)
    with pytest.raises(ValueError, match="jit_compile"):
        gan.jit_compile = True  # after compile, too
    assert gan.jit_compile is False
