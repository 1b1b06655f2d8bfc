"""The run loop against NVIDIA's: StyleGAN (2019) schedule tables, optimizer resets, the exact stop at
`kimg`, resume refusing changed options, the start summary and tick lines, and a kill after a checkpoint."""
import json
import math
import os
import types

import numpy as np
import pytest
import tensorflow as tf

from keras_stylegan import Discriminator, Generator
from keras_stylegan.training.config import TrainingConfig
from keras_stylegan.training.run import (ResumeMismatch, _failure_message, _TickWriter, list_snapshots, read_stats,
                                         run_labels, train)
from keras_stylegan.training.schedule import Schedule
from keras_stylegan.training.stylegan import StyleGAN

TINY = dict(channel_base=32, channel_max=8, z_dim=8, w_dim=8, mapping_layers=1, augment="none", grid_size=4,
            verbose=0)


def tiny_gan(architecture="stylegan2", **kwargs):
    net = dict(architecture=architecture, resolution=8, channels=2, channel_base=32, channel_max=8)
    gan = StyleGAN(Generator(z_dim=8, w_dim=8, mapping_layers=1, **net), Discriminator(**net), **kwargs)
    gan.compile()
    return gan


def images(n=16, resolution=8, channels=2, seed=0):
    return np.random.RandomState(seed).randint(0, 256, [n, resolution, resolution, channels]).astype("uint8")


def nvidia_training_schedule(cur_nimg, resolution_log2, lod_initial_resolution=8, lod_training_kimg=600,
                             lod_transition_kimg=600):
    """NVIDIA's StyleGAN `training_schedule` (1 GPU, the train.py recipe), written out from its code."""
    minibatch_dict = {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}
    lrate_dict = {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}
    kimg = cur_nimg / 1000.0
    phase_dur = lod_training_kimg + lod_transition_kimg
    phase_idx = int(np.floor(kimg / phase_dur)) if phase_dur > 0 else 0
    phase_kimg = kimg - phase_idx * phase_dur
    lod = resolution_log2 - np.floor(np.log2(lod_initial_resolution)) - phase_idx
    if lod_transition_kimg > 0:
        lod -= max(phase_kimg - lod_training_kimg, 0.0) / lod_transition_kimg
    lod = max(lod, 0.0)
    res = 2 ** (resolution_log2 - int(np.floor(lod)))
    return lod, minibatch_dict.get(res, 4), lrate_dict.get(res, 0.001)


@pytest.mark.parametrize("side", [8, 16, 32, 64, 128, 256, 512, 1024])
def test_stylegan_default_schedule_is_nvidias_at_every_resolution(side):
    config = TrainingConfig(architecture="stylegan", cfg="auto").resolve((side, side), channels=3)
    schedule = config.schedule()
    log2 = int(math.log2(side))
    phases = max(log2 - 3, 0) + 1
    for nimg in np.linspace(0, phases * 1_200_000 + 300_000, 97).astype(int):
        lod, batch, lr = nvidia_training_schedule(int(nimg), log2)
        assert schedule.lod(nimg) == pytest.approx(lod, abs=1e-6), nimg
        assert (schedule.batch(nimg), schedule.learning_rate(nimg)) == (batch, lr), (side, nimg)
    assert all(b >= 1 for b in schedule.used_batch_sizes().values())  # was 0 from 512 px: ZeroDivisionError


def test_optimizers_reset_where_nvidia_resets_them():
    schedule = Schedule((32, 32), progressive=True, lod_initial_resolution=8, lod_training_kimg=0.008,
                        lod_transition_kimg=0.008, batch_size=4)
    # NVIDIA: reset when floor(lod) or ceil(lod) changes: the first step of a fade-in, and the step it ends.
    resets = [n for n in range(4, 64, 4) if schedule.resets_optimizers(n - 4, n)]
    assert resets == [12, 16, 28, 32]
    gan = tiny_gan("stylegan")
    gan.fit(images().astype("float32") / 127.5 - 1, batch_size=4, epochs=1, verbose=0)
    gan.set_learning_rate(0.0015)
    gan.reset_optimizers()
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        assert int(optimizer.iterations.numpy()) == 0
        assert float(optimizer.learning_rate) == pytest.approx(0.0015)
        slots = [v for v in optimizer.variables if v is not optimizer._learning_rate]
        assert all(not np.any(v.numpy()) for v in slots)


def test_stylegan_default_batch_trains_through_every_phase(tmp_path):
    data = tmp_path / "data.npy"
    np.save(data, images(8, 16))
    resets = []
    reset = StyleGAN.reset_optimizers
    StyleGAN.reset_optimizers = lambda self: (resets.append(int(self.nimg.numpy())), reset(self))
    try:
        gan = train(str(data), tmp_path / "run", architecture="stylegan", cfg="auto", resolution=16, kimg=0.64,
                    tick_kimg=0.256, lod_initial_resolution=8, lod_training_kimg=0.128, lod_transition_kimg=0.256,
                    **TINY)
    finally:
        StyleGAN.reset_optimizers = reset
    options = json.load(open(tmp_path / "run" / "training_options.json"))
    assert options["batch_table"] == {"8": 128, "16": 128} and options["batch_size"] is None
    assert int(gan.nimg.numpy()) == 640  # 5 steps of NVIDIA's 128 images
    assert resets == [256, 384]  # the fade-in from 8 to 16 px: its first step, and the step after it ends


def test_kimg_stops_where_nvidias_loop_stops(tmp_path):
    data = tmp_path / "data.npy"
    np.save(data, images(16))
    # NVIDIA: stop at the first step reaching kimg (12 images, not whole ticks: 16); ticks end at the
    # first step reaching 8 more images.
    tf.config.experimental.enable_tensor_float_32_execution(True)
    gan = train(str(data), tmp_path / "run", resolution=8, batch_size=4, kimg=0.010, tick_kimg=0.008, **TINY)
    assert int(gan.nimg.numpy()) == 12
    assert not tf.config.experimental.tensor_float_32_execution_enabled()  # NVIDIA trains with TF32 off
    assert [(s["tick"], s["kimg"]) for s in read_stats(tmp_path / "run")] == [(1, 0.008), (2, 0.012)]
    # NVIDIA's loop also snapshots its last tick (here tick 2 of `snapshot_ticks` 10): a run ends sampleable.
    assert snapshot_kimgs(tmp_path / "run") == [0.012]
    gan = train(str(data), tmp_path / "run", resolution=8, batch_size=4, kimg=0.030, tick_kimg=0.008, **TINY)
    assert int(gan.nimg.numpy()) == 32
    assert [s["kimg"] for s in read_stats(tmp_path / "run")] == [0.008, 0.012, 0.02, 0.028, 0.032]
    assert snapshot_kimgs(tmp_path / "run") == [0.032]  # both round to kimg 0: the last one replaced the first


def snapshot_kimgs(run):
    return [json.load(open(os.path.join(path, "metadata.json")))["kimg"] for _, path in list_snapshots(str(run))]


def test_resume_refuses_changed_options_unless_overridden(tmp_path, capsys):
    data = tmp_path / "data.npy"
    np.save(data, images(16))
    run = tmp_path / "run"
    base = dict(TINY, resolution=8, batch_size=4, tick_kimg=0.008, learning_rate=0.002)
    train(str(data), run, kimg=0.008, **base)
    with pytest.raises(ResumeMismatch, match="learning_rate 0.002 -> 0.001") as info:
        train(str(data), run, kimg=0.016, **dict(base, learning_rate=0.001, channel_max=16))
    assert [name for name, _, _ in info.value.changes] == ["channel_max", "learning_rate"]
    assert len(read_stats(run)) == 1
    gan = train(str(data), run, kimg=0.016, override={"learning_rate": 0.001}, **dict(base, verbose=2))
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.001 * 4 / 5)  # not the checkpoint's 0.002
    assert json.load(open(run / "training_options.json"))["learning_rate"] == 0.001
    out = capsys.readouterr().out
    assert "Resuming" in out and "at kimg 0.008" in out and "tick 2" in out


def test_off_tty_output_has_a_start_summary_and_a_line_per_tick(tmp_path, capsys):
    data = tmp_path / "data.npy"
    np.save(data, images(16))
    train(str(data), tmp_path / "run", resolution=8, batch_size=4, kimg=0.016, tick_kimg=0.008, cfg="cpu",
          **dict(TINY, verbose=2))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Preset: cpu (chosen)") and "batch=4" in lines[0]
    assert lines[1].startswith("Networks: G ") and "parameters, D " in lines[1]
    assert lines[2].startswith("Data: 16 images") and lines[3].startswith("New run in ")
    ticks = [line for line in lines if line.startswith("tick ")]
    assert len(ticks) == 2 and all(k in ticks[0] for k in ("kimg 0.008", "sec/kimg", "ETA", "d_loss", " p ", "lod",
                                                            "mem"))


def test_a_kill_between_checkpoint_and_stats_is_caught_up_on_resume(tmp_path):
    data = tmp_path / "data.npy"
    np.save(data, images(16))
    run = tmp_path / "run"
    emit = _TickWriter.emit

    def killed_on_tick_2(self, gan, stats):
        if stats["tick"] == 2:
            raise KeyboardInterrupt  # the process dies right after the checkpoint's rename
        emit(self, gan, stats)

    _TickWriter.emit = killed_on_tick_2
    try:
        with pytest.raises(KeyboardInterrupt):
            train(str(data), run, resolution=8, batch_size=4, kimg=0.016, tick_kimg=0.008, **TINY)
    finally:
        _TickWriter.emit = emit
    assert [s["tick"] for s in read_stats(run)] == [1]
    train(str(data), run, resolution=8, batch_size=4, kimg=0.016, tick_kimg=0.008, **TINY)
    assert [s["tick"] for s in read_stats(run)] == [1, 2]
    assert read_stats(run)[1]["kimg"] == 0.016


def test_nan_stop_message_names_an_existing_checkpoint_or_none(tmp_path):
    assert "no checkpoint was written yet" in _failure_message("d_loss is nan", str(tmp_path / "checkpoint.h5"))
    (tmp_path / "checkpoint.h5").write_bytes(b"x")
    assert str(tmp_path / "checkpoint.h5") in _failure_message("d_loss is nan", str(tmp_path / "checkpoint.h5"))


def test_augpipe_reaches_the_augmentation(monkeypatch):
    from keras_stylegan.training import augment as augment_module

    seen = []

    def recording_augment(images, p, seed, pipeline="bgc"):
        seen.append(pipeline)
        return images

    monkeypatch.setattr(augment_module, "augment", recording_augment)
    gan = tiny_gan(augment="fixed", augment_p=0.5, augpipe="blit")
    gan.fit(images(4).astype("float32") / 127.5 - 1, batch_size=4, epochs=1, verbose=0)
    assert seen and set(seen) == {"blit"}
    assert gan.get_config()["augpipe"] == "blit"
    assert os.path.basename(augment_module.__file__) == "augment.py"


def test_self_conditioning_trains_a_model_conditioned_on_clusters_and_resumes(tmp_path, capsys):
    from keras_stylegan.data.clusters import cluster_labels
    from keras_stylegan.zoo import load

    kinds = np.zeros((12, 8, 8, 2), np.uint8)
    kinds[6:, :, :4] = 255  # two kinds of image: k-means puts each in its own cluster
    data = tmp_path / "data.npy"
    np.save(data, kinds)
    run = tmp_path / "run"
    options = dict(TINY, resolution=8, batch_size=4, tick_kimg=0.008, clusters=2, class_groups=True, verbose=2)
    gan = train(str(data), run, kimg=0.008, **options)
    out = capsys.readouterr().out
    assert "Self-conditioning: 2 k-means clusters" in out and "(6-6 images each)" in out
    assert " class_groups" in out and json.load(open(run / "training_options.json"))["class_groups"]
    assert gan.generator.num_classes == gan.discriminator.num_classes == 2
    assert json.load(open(run / "training_options.json"))["clusters"] == 2
    snapshot = load(list_snapshots(str(run))[-1][1])
    assert snapshot.num_classes == 2
    assert sorted(np.bincount(cluster_labels(kinds, 2)).tolist()) == [6, 6]
    # The labels the run trained on, as tools measuring it recompute them from its options.
    options_json = json.load(open(run / "training_options.json"))
    labels = run_labels(options_json, kinds, None)
    assert len(set(labels[:6].tolist())) == len(set(labels[6:].tolist())) == 1 and labels[0] != labels[6]
    np.testing.assert_array_equal(labels, cluster_labels(kinds, 2, seed=options_json["seed"]))
    assert run_labels(dict(options_json, clusters=0, num_classes=0), kinds, None) is None
    data_labels = types.SimpleNamespace(labels=np.arange(12) % 3)  # a conditional dataset's own labels
    assert run_labels(dict(options_json, clusters=0, num_classes=3), kinds, data_labels) is data_labels.labels
    gan = train(str(data), run, kimg=0.016, **options)  # resumes with the same clusters
    assert int(gan.nimg.numpy()) == 16 and gan.generator.num_classes == 2
    with pytest.raises(ResumeMismatch, match="clusters 2 -> 0"):
        train(str(data), run, kimg=0.024, **dict(options, clusters=0))
    with pytest.raises(ResumeMismatch, match="class_groups True -> False"):
        train(str(data), run, kimg=0.024, **dict(options, class_groups=False))
