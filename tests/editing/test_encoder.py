"""The encoder: config and .keras round-trips, training on a tiny generator, a better start for projection."""
import keras
import numpy as np
import pytest

from keras_stylegan.editing import Encoder, load_encoder, train_encoder
from keras_stylegan.projection import project
from keras_stylegan.projection.projector import initial_ws, to_uint8, w_statistics

from .helpers import make_generator


@pytest.fixture(scope="module")
def trained(generator):
    losses = []
    keras.utils.set_random_seed(0)  # the encoder's initial weights
    encoder = train_encoder(generator, steps=150, batch_size=16, base_filters=16, learning_rate=3e-3, progress=False,
                            callback=lambda step, record: losses.append(record["w"]))
    return encoder, losses


def render(generator, ws):
    return keras.ops.convert_to_numpy(generator.synthesis(np.asarray(ws, np.float32), noise_mode="const"))


def test_round_trips_and_untrained_answer_is_w_avg(tmp_path):
    encoder = Encoder(resolution=(8, 16), channels=4, w_dim=8, num_ws=3, base_filters=4, max_filters=8)
    encoder.w_avg.assign(np.arange(8, dtype=np.float32))
    images = np.random.RandomState(0).uniform(-1, 1, [2, 8, 16, 4]).astype(np.float32)
    np.testing.assert_array_equal(encoder(images).numpy(), np.tile(np.arange(8, dtype=np.float32), (2, 3, 1)))
    assert Encoder.from_config(encoder.get_config()).get_config() == encoder.get_config()
    for v in encoder.trainable_variables:  # non-trivial weights for the save/load check
        v.assign(np.random.RandomState(1).randn(*v.shape).astype(np.float32) * 0.1)
    encoder.save(tmp_path / "e.keras")
    loaded = load_encoder(tmp_path / "e.keras")
    assert isinstance(loaded, Encoder) and loaded.num_ws == 3
    np.testing.assert_allclose(loaded(images).numpy(), encoder(images).numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"images must have shape \[N, 8, 16, 4\]"):
        encoder(images[..., :3])


def test_bad_arguments(generator, tmp_path):
    with pytest.raises(ValueError, match="`base_filters` must be an int >= 1. Received: 0"):
        Encoder(16, base_filters=0)
    with pytest.raises(ValueError, match="`steps` must be an int >= 1. Received: 0"):
        train_encoder(generator, steps=0)
    with pytest.raises(ValueError, match="does not fit the generator"):
        train_encoder(generator, steps=1, encoder=Encoder(16, w_dim=8, base_filters=4))
    with pytest.raises(FileNotFoundError, match="encoder file not found"):
        load_encoder(tmp_path / "missing.keras")
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a readable .keras encoder"):
        load_encoder(tmp_path / "bad.keras")


def test_training_lowers_the_w_error(generator, trained):
    encoder, losses = trained
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:5])
    np.testing.assert_allclose(encoder.w_avg.numpy(), w_statistics(generator)[0], rtol=1e-6)


def test_conditional_generator_trains_an_encoder_on_every_class():
    cg = make_generator(num_classes=3)
    losses = []
    keras.utils.set_random_seed(0)
    encoder = train_encoder(cg, steps=60, batch_size=16, base_filters=8, learning_rate=3e-3, progress=False,
                            callback=lambda step, record: losses.append(record["w"]))
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:5])
    np.testing.assert_allclose(encoder.w_avg.numpy(), w_statistics(cg)[0], rtol=1e-6)


def test_encoder_start_beats_w_avg(generator, trained):
    encoder, _ = trained
    ws = generator.mapping(np.random.RandomState(1000).randn(16, 16).astype(np.float32)).numpy()
    targets = to_uint8(render(generator, ws))  # seeds the encoder never saw
    guesses = np.repeat(encoder(targets.astype(np.float32) / 127.5 - 1).numpy()[:, None], generator.num_ws, 1)
    w_avg = np.broadcast_to(encoder.w_avg.numpy(), ws.shape)
    target_images = targets / 127.5 - 1
    encoder_error = np.mean((render(generator, guesses) - target_images) ** 2)
    w_avg_error = np.mean((render(generator, w_avg) - target_images) ** 2)
    assert encoder_error < 0.7 * w_avg_error, (encoder_error, w_avg_error)
    # The same through `project`: the reconstruction error at step 0 (NVIDIA's start vs the encoder's).
    step0 = {init: project(generator, targets[0], num_steps=1, perceptual=None, pixel_weight=1.0, progress=False,
                           init=init, encoder=encoder).history[0]["pixel"] for init in ("w_avg", "encoder")}
    assert step0["encoder"] < step0["w_avg"], step0


def test_initial_ws_from_an_array_and_bad_init(generator):
    w_avg = np.arange(16, dtype=np.float32)
    w_plus = np.random.RandomState(5).randn(6, 16).astype(np.float32)
    target = np.zeros([16, 16, 3], np.uint8)
    np.testing.assert_array_equal(initial_ws(generator, "w_avg", target, w_avg, True), np.tile(w_avg, (1, 6, 1)))
    np.testing.assert_array_equal(initial_ws(generator, w_plus[0], target, w_avg, True), np.tile(w_plus[0], (1, 6, 1)))
    np.testing.assert_array_equal(initial_ws(generator, w_plus[None], target, w_avg, True), w_plus[None])
    np.testing.assert_allclose(initial_ws(generator, w_plus, target, w_avg, False), w_plus.mean(0)[None, None],
                               rtol=1e-6)
    for init, words in [("bogus", "init must be 'w_avg', 'encoder'"), ("encoder", "init='encoder' needs encoder="),
                        (np.zeros(5), r"Received shape: \(5,\)"), (np.zeros([2, 16]), r"Received shape: \(2, 16\)")]:
        with pytest.raises(ValueError, match=words):
            project(generator, target, num_steps=1, perceptual=None, pixel_weight=1.0, progress=False, init=init)
