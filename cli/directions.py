"""`kstylegan directions`: semantic directions in W, closed-form (SeFa) or from labelled latents."""
import click
import numpy as np

from keras_stylegan.cli.common import OneLineCommand, one_line_errors
from keras_stylegan.cli.sample import load_generator, model_option


def _save_npz(path, **arrays):
    """An .npz built in memory and written atomically: a failed write leaves the previous file as it was."""
    import io

    from keras_stylegan.utils.files import write_bytes

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes(path, buffer.getvalue())


@click.command("directions", cls=OneLineCommand)
@model_option
@click.option("--method", type=click.Choice(("sefa", "labels")), default="sefa", show_default=True,
              help="sefa: eigenvectors of the style affines; labels: a boundary between labelled ws.")
@click.option("--layers", default=None, help="sefa: style layers to factorize, e.g. 0-3 or coarse.  [default: all]")
@click.option("--labels", "labels_file", default=None, metavar="FILE",
              help="labels: a CSV of 'w_file,label' rows (w files: .npz with key w) or a .npz with ws and labels.")
@click.option("--out", default="directions.npz", show_default=True, help="Where to write the directions (.npz).")
@one_line_errors
def directions_command(model, method, layers, labels_file, out):
    """Find editing directions and save them as an .npz (`directions` [K, w_dim], strongest first).

    sefa also writes `eigenvalues` and `layers`; labels writes one direction (the boundary
    normal, towards the larger label) and its `auc` on the labelled ws.

    \b
    Example:
      kstylegan directions --model emoji --method sefa --layers 0-3 --out dirs.npz
      kstylegan directions --method labels --labels smile.csv --out smile.npz
    """
    from keras_stylegan.editing import directions as lib
    from keras_stylegan.sampling import check_output_path

    out = check_output_path(out, (".npz",))
    if method == "labels":
        if labels_file is None:
            raise ValueError("--method labels needs --labels FILE (CSV of w_file,label or .npz with ws, labels)")
        if layers is not None:
            raise ValueError("--layers is used by --method sefa only")
        ws, labels = lib.read_labelled_ws(labels_file)
        direction = lib.attribute_direction(ws, labels)
        # How well the direction orders the two groups (AUC: 1 = every positive scores above every negative).
        positive = labels == np.unique(labels)[-1]
        ranks = np.argsort(np.argsort(ws @ direction)) + 1
        n_pos, n_neg = positive.sum(), (~positive).sum()
        auc = (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
        _save_npz(out, directions=direction[None], auc=np.float32(auc))
        click.echo(f"wrote {out} (1 direction from {len(ws)} labelled ws, AUC {auc:.3f})")
        return
    if labels_file is not None:
        raise ValueError("--labels is used by --method labels only")
    generator = load_generator(model)
    layers = lib.parse_layers(layers, generator, name="--layers")
    directions, eigenvalues = lib.sefa_directions(generator, layers)
    _save_npz(out, directions=directions, eigenvalues=eigenvalues, layers=np.asarray(layers, np.int32))
    click.echo(f"wrote {out} ({len(directions)} directions of layers {layers}; top eigenvalues "
               f"{', '.join(f'{v:.3g}' for v in eigenvalues[:3])})")
