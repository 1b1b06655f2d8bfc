"""Distribution: a 2-replica MirroredStrategy step equals a 1-replica step, and a 2-worker
MultiWorkerMirroredStrategy run of `train()` ends with the same state on both workers.

Both run in subprocesses: logical CPU devices must be set before TensorFlow initializes, and
each worker of a multi-worker cluster is its own process (here on 127.0.0.1).
"""
import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from keras_stylegan.training.run import train

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
ENV.pop("TF_CONFIG", None)
TINY_TRAIN = dict(resolution=8, channel_base=32, channel_max=8, z_dim=8, w_dim=8, mapping_layers=2, batch_size=4,
                  tick_kimg=0.004, augment="none", grid_size=4, verbose=0)

# The start of every 2-replica script: two logical CPU devices, set before TensorFlow initializes.
TWO_LOGICAL_CPUS = """
import sys
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
"""

# Per-replica randomness would make the runs differ by design, so it is neutralized: no
# minibatch-stddev groups, no augmentation. Everything else (z, style mixing, the generator's
# random noise inputs, path-length z and noise) is drawn for the global batch and sliced per
# replica, so two replicas must take exactly the step one replica takes.
MIRRORED_SCRIPT = TWO_LOGICAL_CPUS + """
from keras_stylegan import Discriminator, Generator
from keras_stylegan.training.stylegan import StyleGAN

architecture, out, mode_seeking_weight = sys.argv[1], sys.argv[2], float(sys.argv[3])


def run(strategy, steps=2):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        net = dict(architecture=architecture, resolution=8, channels=3, channel_base=32, channel_max=8)
        g = Generator(z_dim=8, w_dim=8, mapping_layers=2, **net)
        d = Discriminator(mbstd_group_size=0, **net)
        gan = StyleGAN(g, d, lod_initial_resolution=4, lod_training_kimg=0.004,
                       lod_transition_kimg=0.004, mode_seeking_weight=mode_seeking_weight)
        gan.compile()
    # StyleGAN's constant input starts at ones, so its instance norm divides by ~0 and the step is
    # ill-conditioned (float rounding decides signs); a random constant keeps it well-conditioned.
    const = next(v for v in g.weights if v.path.endswith("b4/const/const"))
    const.assign(np.random.RandomState(2).randn(*const.shape).astype("float32"))
    reals = np.random.RandomState(1).uniform(-1, 1, [4 * steps, 8, 8, 3]).astype("float32")
    history = gan.fit(tf.data.Dataset.from_tensor_slices(reals).batch(4), epochs=1, steps_per_epoch=steps,
                      verbose=0)
    state = {k: np.array(v.numpy()) for k, v in gan.state_variables().items()}
    state.update({"log/" + k: np.float32(v[-1]) for k, v in history.history.items()})
    state["replicas"] = np.int64(strategy.num_replicas_in_sync)
    return state


single = run(tf.distribute.get_strategy())
mirrored = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
np.savez(out, **{"single/" + k: v for k, v in single.items()}, **{"mirrored/" + k: v for k, v in mirrored.items()})
"""

WORKER_SCRIPT = """
import json
import sys
import numpy as np
from keras_stylegan.training.run import train

data, rundir, out, kwargs = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
gan = train(data, rundir, strategy="multiworker", **kwargs)
np.savez(out, **{k: v.numpy() for k, v in gan.state_variables().items()})
"""


def start_script(directory, source, args, env=ENV):
    """Runs `source` in a new Python process; its output goes to `directory/log.txt` (no pipe to fill)."""
    script = directory / "script.py"
    script.write_text(textwrap.dedent(source))
    with open(directory / "log.txt", "w") as log:
        process = subprocess.Popen([sys.executable, str(script), *map(str, args)], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    process.log = directory / "log.txt"
    return process


def wait(process, timeout):
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"timed out after {timeout:.0f} s:\n{process.log.read_text()[-3000:]}")
    assert process.returncode == 0, process.log.read_text()[-3000:]


def assert_same_state(a, b, atol, rtol=0.0):
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_allclose(b[name], a[name], atol=atol, rtol=rtol, err_msg=name)


@pytest.mark.large
# StyleGAN2 with the mode-seeking term on: its pairs must be the ones one device forms.
@pytest.mark.parametrize("architecture, mode_seeking_weight", [("stylegan2", 1.0), ("stylegan", 0.0)])
def test_two_replica_mirrored_steps_equal_one_replica_steps(tmp_path, architecture, mode_seeking_weight):
    out = tmp_path / "states.npz"
    wait(start_script(tmp_path, MIRRORED_SCRIPT, [architecture, out, mode_seeking_weight]), timeout=170)
    with np.load(out) as f:
        runs = {run: {k.split("/", 1)[1]: f[k] for k in f.files if k.startswith(run + "/")}
                for run in ("single", "mirrored")}
    assert int(runs["single"].pop("replicas")) == 1 and int(runs["mirrored"].pop("replicas")) == 2
    single = runs["single"]
    assert int(single["state/nimg"]) == 8 and int(single["state/step"]) == 2
    assert float(single["log/r1"]) > 0  # step 0 had R1 (lazy: every 16 steps for StyleGAN2, every step for StyleGAN)
    if architecture == "stylegan2":
        assert float(single["state/pl_mean"]) > 0  # step 0 had path-length regularization
    else:
        assert float(single["log/lod"]) > 0  # the second step faded 8x8 in
    # G, D, G_ema, optimizer slots, counters and logged losses; rtol for Adam's second moments (~1e6 in StyleGAN).
    assert_same_state(single, runs["mirrored"], atol=1e-5, rtol=1e-5)


MAGNITUDE_SCRIPT = TWO_LOGICAL_CPUS + """
from keras_stylegan import Generator

out = sys.argv[1]
z = np.random.RandomState(3).randn(4, 8).astype("float32")


def run(strategy):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        g = Generator(architecture="stylegan3", block_architecture="t", resolution=16, channels=3, z_dim=8,
                      w_dim=8, channel_base=64, channel_max=8, magnitude_ema_beta=0.5)
        g(z[:1])  # build (inference: no update)
    start = [v.numpy() for v in g.weights if v.path.endswith("magnitude_ema")]

    @tf.function
    def update(batch):
        g(batch, noise_mode="const", update_magnitude_ema=True)

    dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(z).batch(4))
    strategy.run(update, args=(next(iter(dataset)),))
    end = [v.numpy() for v in g.weights if v.path.endswith("magnitude_ema")]
    return np.array(start), np.array(end)


single = run(tf.distribute.get_strategy())
mirrored = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
np.savez(out, single_start=single[0], single_end=single[1], mirrored_start=mirrored[0], mirrored_end=mirrored[1])
"""


@pytest.mark.large
def test_stylegan3_magnitude_ema_under_two_replicas_equals_one_replica(tmp_path):
    # Each replica sees half the batch; the variables' "mean" aggregation must give the update of
    # the whole batch (a mean of equal halves' mean squares), not one replica's or their sum.
    out = tmp_path / "magnitudes.npz"
    wait(start_script(tmp_path, MAGNITUDE_SCRIPT, [out]), timeout=170)
    with np.load(out) as f:
        runs = {k: f[k] for k in f.files}
    np.testing.assert_array_equal(runs["single_start"], runs["mirrored_start"])  # same initial weights
    assert len(runs["single_end"]) > 3
    assert np.all(np.abs(runs["single_end"] - runs["single_start"]) > 1e-3)  # every layer updated
    np.testing.assert_allclose(runs["mirrored_end"], runs["single_end"], rtol=1e-5)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.large
def test_multiworker_train_resumes_and_keeps_workers_identical(tmp_path):
    data = tmp_path / "data.npy"
    np.save(data, np.random.RandomState(0).randint(0, 256, [16, 8, 8, 3]).astype("uint8"))
    chief_dir, worker_dir = tmp_path / "run", tmp_path / "worker1"
    train(data, chief_dir, kimg=0.004, **TINY_TRAIN)  # one tick on one device: a checkpoint to resume from
    # The second worker gets an empty run directory, like a machine without the chief's disk: it must
    # take the chief's resumed state, else the workers diverge (or hang on different step counts).
    ports = free_ports(2)
    processes = []
    for index, rundir in enumerate([chief_dir, worker_dir]):
        cluster = {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                   "task": {"type": "worker", "index": index}}
        env = dict(ENV, TF_CONFIG=json.dumps(cluster))
        worker_tmp = tmp_path / f"w{index}"
        worker_tmp.mkdir()
        args = [data, rundir, tmp_path / f"state{index}.npz", json.dumps(dict(TINY_TRAIN, kimg=0.008))]
        processes.append(start_script(worker_tmp, WORKER_SCRIPT, args, env=env))
    deadline = time.monotonic() + 100  # the workers run in parallel: one time box for both
    try:
        for process in processes:
            wait(process, timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    chief, other = (dict(np.load(tmp_path / f"state{i}.npz")) for i in range(2))
    assert int(chief["state/nimg"]) == 8 and int(chief["state/step"]) == 2
    assert_same_state(chief, other, atol=0.0)
    with h5py.File(chief_dir / "checkpoint.h5", "r") as f:  # the chief checkpointed the final state
        assert_same_state(chief, {name: f[name][()] for name in chief}, atol=0.0)
    assert not os.path.exists(worker_dir / "checkpoint.h5")  # other workers write nothing
    assert not os.path.exists(worker_dir / "training_options.json")
