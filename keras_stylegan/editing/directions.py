"""Semantic directions in W: closed-form (SeFa) and from labelled latents (InterFaceGAN).

SeFa (Shen & Zhou 2021, "Closed-Form Factorization of Latent Semantics in GANs"): a step
`n` in w moves the styles of layer l by `A_l n`, so the directions that move the chosen
layers' styles most are the top eigenvectors of `A^T A`, `A` stacking their affine weights.

InterFaceGAN (Shen et al. 2020, "Interpreting the Latent Space of GANs for Semantic Face
Editing"): a linear classifier separates the latents of images with and without an
attribute; the unit normal of its boundary is the editing direction.
"""
import csv
import os

import numpy as np

from keras_stylegan.sampling import parse_styles


def parse_layers(layers, generator, name="layers"):
    """Style layers (w indices): `None` (all), `"0-3"`, `"coarse,8"`, `"0,2,5-7"` or a list of ints.

    Example:
    >>> g = Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> parse_layers("0-2,5", g)
    [0, 1, 2, 5]
    """
    if layers is None:
        return list(range(generator.num_ws))
    return parse_styles(layers, generator, name=name)


def style_weights(generator):
    """The effective style-affine weight `[w_dim, styles]` of every w index (run-time gains applied).

    StyleGAN2: the affine of the modulated convolution that reads w[i]; the last w index
    drives only the final ToRGB, whose affine (times its `1/sqrt(fan_in)` style gain) is used.
    StyleGAN (2019): the AdaIN style layer of w[i] (scales and biases). StyleGAN3: w[0] feeds the
    Fourier input's rotation/translation affine, w[i + 1] the affine of layer i (ToRGB last).

    Example:
    >>> g = Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> [w.shape for w in style_weights(g)][:2]
    [(16, 16), (16, 16)]
    """
    def effective(dense, extra_gain=1.0):
        return np.asarray(dense.kernel.numpy(), np.float64) * dense._scale * extra_gain

    if generator.architecture == "stylegan3":  # w[0]: the input's rotation/translation affine; then one per layer
        synthesis = generator.synthesis
        weights = [effective(synthesis.input_features.affine)]
        for layer in synthesis.synthesis_layers:
            torgb_gain = 1 / np.sqrt(layer.in_channels * layer.conv_kernel ** 2) if layer.is_torgb else 1.0
            weights.append(effective(layer.affine, torgb_gain))
        return weights
    weights = []
    blocks = generator.synthesis.blocks
    if generator.architecture == "stylegan":
        for block in blocks:
            weights += [effective(block.conv0.adain.style), effective(block.conv1.adain.style)]
        return weights
    for block in blocks:
        weights += [effective(layer.affine) for layer in (block.conv0, block.conv1) if layer is not None]
    torgb = blocks[-1].torgb
    weights.append(effective(torgb.affine, torgb.weight_gain))
    return weights


def sefa_directions(generator, layers=None):
    """SeFa: the eigenvectors of `A^T A`, `A` the stacked style affines of `layers`, strongest first.

    Args:
        generator: a `keras_stylegan.Generator` (StyleGAN2 or StyleGAN).
        layers: style layers (w indices) whose styles the directions should move (see
            `parse_layers`; `None`: all).

    Returns:
        `(directions, eigenvalues)`: float32 `[w_dim, w_dim]` orthonormal rows, and float32
        `[w_dim]` eigenvalues in descending order. The sign of each direction is arbitrary;
        it is fixed so that its largest component is positive.

    Example:
    >>> g = Generator(resolution=16, z_dim=16, w_dim=16, channel_base=64, channel_max=16)
    >>> directions, eigenvalues = sefa_directions(g, "0-3")
    >>> directions.shape, bool(eigenvalues[0] >= eigenvalues[-1])
    ((16, 16), True)
    """
    layers = parse_layers(layers, generator)
    weights = style_weights(generator)
    a_matrix = np.concatenate([weights[i] for i in layers], axis=1).T  # [sum styles, w_dim]
    eigenvalues, eigenvectors = np.linalg.eigh(a_matrix.T @ a_matrix)
    order = np.argsort(eigenvalues)[::-1]
    directions = eigenvectors[:, order].T
    largest = np.argmax(np.abs(directions), axis=1)
    directions *= np.sign(directions[np.arange(len(directions)), largest])[:, None]
    return directions.astype(np.float32), eigenvalues[order].astype(np.float32)


def _as_w_rows(ws, name="ws"):
    """`[N, w_dim]` or `[N, num_ws, w_dim]` (mean over layers: the w itself for W latents)."""
    ws = np.asarray(ws, np.float64)
    if ws.ndim == 3:
        ws = ws.mean(axis=1)
    if ws.ndim != 2 or not np.all(np.isfinite(ws)):
        raise ValueError(f"`{name}` must be finite [N, w_dim] or [N, num_ws, w_dim]. Received shape: {ws.shape}")
    return ws


def attribute_direction(ws, labels, l2=1e-3, max_iterations=50, tolerance=1e-10):
    """InterFaceGAN: the unit normal of an L2-regularized logistic-regression boundary in W.

    Fitted with damped Newton steps on `mean(log(1 + exp(-y (x.n + b)))) + l2/2 |n|^2`
    (`y` = +-1, `x` = centred ws), pure NumPy. The normal points towards the positive label.

    Args:
        ws: `[N, w_dim]`, or `[N, num_ws, w_dim]` (averaged over layers: W latents are equal).
        labels: `[N]` with two distinct values (0/1, False/True, -1/1); the larger is positive.
        l2: ridge weight; keeps the boundary finite on separable data (a max-margin normal).
        max_iterations: Newton steps.
        tolerance: stop when the decrease of the objective is below this.

    Returns:
        float32 `[w_dim]`, unit length.

    Example:
    >>> rng = np.random.RandomState(0)
    >>> ws = rng.randn(200, 8)
    >>> direction = attribute_direction(ws, ws[:, 2] > 0)
    >>> int(np.argmax(np.abs(direction)))
    2
    """
    x = _as_w_rows(ws)
    labels = np.asarray(labels)
    if labels.shape != (len(x),):
        raise ValueError(f"`labels` must have shape [{len(x)}] (one per w). Received shape: {labels.shape}")
    values = np.unique(labels)
    if len(values) != 2:
        raise ValueError(f"`labels` must hold exactly two distinct values. Received: {values[:5].tolist()}")
    y = np.where(labels == values[1], 1.0, -1.0)
    x = np.concatenate([x - x.mean(axis=0), np.ones([len(x), 1])], axis=1)  # last column: the bias
    ridge = np.full(x.shape[1], float(l2))
    ridge[-1] = 0.0

    def objective(beta):
        return np.mean(np.logaddexp(0.0, -y * (x @ beta))) + 0.5 * np.sum(ridge * beta ** 2)

    beta = np.zeros(x.shape[1])
    value = objective(beta)
    for _ in range(int(max_iterations)):
        p = 0.5 * (1 + np.tanh(0.5 * y * (x @ beta)))  # sigmoid(y x.beta), stable
        gradient = x.T @ (-y * (1 - p)) / len(x) + ridge * beta
        hessian = (x.T * (p * (1 - p))) @ x / len(x) + np.diag(ridge + 1e-12)
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while objective(beta - scale * step) > value and scale > 1e-6:  # halve until it improves
            scale *= 0.5
        beta = beta - scale * step
        value, previous = objective(beta), value
        if previous - value < tolerance:
            break
    normal = beta[:-1]
    norm = np.linalg.norm(normal)
    if norm == 0:
        raise ValueError("the labels are not linearly related to the ws: the boundary normal is zero")
    return (normal / norm).astype(np.float32)


def read_labelled_ws(path):
    """Latents and labels for `attribute_direction` from a file.

    Args:
        path: a `.npz` with arrays `ws` and `labels`, or a CSV of `w_file,label` rows (an
            optional header; `w_file` is a `.npz` with key `w`, such as `projected_w.npz`,
            relative to the CSV's directory).

    Returns:
        `(ws [N, w_dim], labels [N])`.

    Example:
    >>> ws, labels = read_labelled_ws("labels.csv")  # doctest: +SKIP
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"labels file not found: {path}")
    if path.lower().endswith(".npz"):
        with np.load(path, allow_pickle=False) as data:
            missing = {"ws", "labels"} - set(data.files)
            if missing:
                raise ValueError(f"{path} must hold arrays 'ws' and 'labels'. Missing: {sorted(missing)}")
            return _as_w_rows(data["ws"], path), np.asarray(data["labels"])
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row and any(cell.strip() for cell in row)]
    if rows and rows[0][-1].strip().lower() == "label":
        rows = rows[1:]
    ws, labels = [], []
    for number, row in enumerate(rows, start=1):
        if len(row) != 2:
            raise ValueError(f"{path}: each row must be 'w_file,label'. Row {number}: {','.join(row)!r}")
        w_file = os.path.join(os.path.dirname(os.path.abspath(path)), row[0].strip())
        try:
            labels.append(float(row[1]))
            with np.load(w_file, allow_pickle=False) as data:
                ws.append(_as_w_rows(np.asarray(data["w"]).reshape((1,) + np.shape(data["w"])[-2:]), w_file)[0])
        except (KeyError, ValueError, OSError) as e:
            raise ValueError(f"{path}, row {number}: cannot read {row[0].strip()!r} / {row[1].strip()!r} "
                             f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    if not ws:
        raise ValueError(f"{path} lists no 'w_file,label' rows")
    if len({w.shape for w in ws}) > 1:
        raise ValueError(f"{path}: the w files differ in w_dim: {sorted({w.shape[0] for w in ws})}")
    return np.stack(ws), np.asarray(labels)


__all__ = ["attribute_direction", "parse_layers", "read_labelled_ws", "sefa_directions", "style_weights"]
