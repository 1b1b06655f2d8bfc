"""SeFa against an independent NumPy eigendecomposition; a planted attribute is recovered from labels."""
import numpy as np
import pytest

from keras_stylegan.editing import attribute_direction, parse_layers, read_labelled_ws, sefa_directions
from .helpers import make_generator


def affine_kernels(generator, names, gains):
    """Effective affine weights [w_dim, styles] read straight from the variables: kernel * gain / sqrt(w_dim)."""
    variables = {v.path.split("/", 1)[1]: v.numpy().astype(np.float64) for v in generator.weights}
    return [variables[f"synthesis/{name}/kernel"] * gain / np.sqrt(generator.w_dim) for name, gain in zip(names, gains)]


def check_against_eigh(directions, eigenvalues, kernels):
    reference = sum(k @ k.T for k in kernels)  # A^T A with A = the stacked affines [sum styles, w_dim]
    values, vectors = np.linalg.eigh(reference)
    values, vectors = values[::-1], vectors[:, ::-1]
    np.testing.assert_allclose(eigenvalues, values, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(directions @ directions.T, np.eye(len(directions)), atol=1e-5)  # orthonormal
    distinct = values > 1e-6 * values[0]  # fewer styles than w_dim leaves a null space: any basis of it is right
    np.testing.assert_allclose(np.abs(np.sum(directions * vectors.T, axis=1))[distinct], 1.0, atol=1e-4)
    np.testing.assert_allclose(directions @ reference, eigenvalues[:, None] * directions, atol=1e-4)


# StyleGAN2 16 px: w0 -> b4.conv1, w1 -> b8.conv0, w2 -> b8.conv1, w3 -> b16.conv0, w4 -> b16.conv1, w5 -> b16.torgb
@pytest.mark.parametrize("layers, names", [
    ("0-2", ["b4/conv1/affine", "b8/conv0/affine", "b8/conv1/affine"]),
    ([3, 5], ["b16/conv0/affine", "b16/torgb/affine"]),
])
def test_sefa_are_the_eigenvectors_of_the_stacked_affines(generator, layers, names):
    # ToRGB styles carry an extra 1/sqrt(in_channels) gain (16 px block: 4 channels).
    gains = [0.5 if "torgb" in name else 1.0 for name in names]
    directions, eigenvalues = sefa_directions(generator, layers)
    assert directions.shape == (16, 16) and np.all(np.diff(eigenvalues) <= 0)
    check_against_eigh(directions, eigenvalues, affine_kernels(generator, names, gains))


def test_sefa_stylegan_2019_uses_the_adain_styles():
    generator = make_generator(architecture="stylegan", resolution=8)
    directions, eigenvalues = sefa_directions(generator, "1-2")
    check_against_eigh(directions, eigenvalues, affine_kernels(
        generator, ["b4/conv1/adain/style", "b8/conv0/adain/style"], [1.0, 1.0]))


def test_sefa_layers_matter_and_bad_layers_fail(generator):
    coarse, _ = sefa_directions(generator, "0-1")
    fine, _ = sefa_directions(generator, "4-5")
    assert abs(float(coarse[0] @ fine[0])) < 0.99
    assert parse_layers("coarse,5", generator) == [0, 1, 2, 3, 5]
    with pytest.raises(ValueError, match=r"`layers`: layer 6 is out of range.*Received: '0-6'"):
        sefa_directions(generator, "0-6")
    with pytest.raises(ValueError, match="must look like"):
        sefa_directions(generator, "a-b")


def planted_data(generator, n=300, seed=0):
    """ws from the mapping network, labelled by a hidden unit normal (plus a little label noise)."""
    rng = np.random.RandomState(seed)
    ws = generator.mapping(rng.randn(n, generator.z_dim).astype(np.float32)).numpy()
    normal = rng.randn(generator.w_dim)
    normal /= np.linalg.norm(normal)
    scores = (ws[:, 0] - ws[:, 0].mean(0)) @ normal
    return ws, scores + 0.1 * scores.std() * rng.randn(n) > 0, normal


def test_attribute_direction_recovers_a_planted_normal(generator):
    ws, labels, normal = planted_data(generator)
    direction = attribute_direction(ws, labels)  # [N, num_ws, w_dim] (W latents)
    assert abs(np.linalg.norm(direction) - 1) < 1e-5
    assert float(direction @ normal) >= 0.9  # the same direction, and pointing to the positive side
    flipped = attribute_direction(ws[:, 0], np.where(labels, -1, 1))
    assert float(flipped @ normal) <= -0.9


@pytest.mark.parametrize("labels, words", [
    (np.ones(300), "exactly two distinct values"),
    (np.arange(300) % 3, "exactly two distinct values"),
    (np.ones(5), r"must have shape \[300\]"),
])
def test_attribute_direction_bad_labels(generator, labels, words):
    ws, _, _ = planted_data(generator)
    with pytest.raises(ValueError, match=words):
        attribute_direction(ws, labels)


def test_read_labelled_ws_from_csv_and_npz(generator, tmp_path):
    ws, labels, normal = planted_data(generator, n=60)
    rows = ["w_file,label"]
    for i, (w, label) in enumerate(zip(ws, labels)):
        np.savez(tmp_path / f"w{i}.npz", w=w[None])  # the projected_w.npz layout [1, num_ws, w_dim]
        rows.append(f"w{i}.npz,{int(label)}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    read_ws, read_labels = read_labelled_ws(tmp_path / "labels.csv")
    np.testing.assert_allclose(read_ws, ws[:, 0], rtol=1e-6)
    np.testing.assert_array_equal(read_labels, labels.astype(float))
    np.savez(tmp_path / "labelled.npz", ws=ws, labels=labels)
    read_ws, read_labels = read_labelled_ws(tmp_path / "labelled.npz")
    np.testing.assert_allclose(read_ws, ws[:, 0], rtol=1e-6)
    (tmp_path / "bad.csv").write_text("w0.npz,1\nmissing.npz,0\n")
    with pytest.raises(ValueError, match=r"row 2: cannot read 'missing.npz'"):
        read_labelled_ws(tmp_path / "bad.csv")
    np.savez(tmp_path / "nolabels.npz", ws=ws)
    with pytest.raises(ValueError, match="must hold arrays 'ws' and 'labels'"):
        read_labelled_ws(tmp_path / "nolabels.npz")
