"""`kstylegan export`: a generator as a TensorFlow Serving SavedModel, ONNX files, a LiteRT file or OpenVINO IR."""
import click

from keras_stylegan.cli.common import OneLineCommand, one_line_errors
from keras_stylegan.cli.sample import load_generator, model_option


@click.command("export", cls=OneLineCommand)
@model_option
@click.option("--out", required=True,
              help="DIR/<version>/ (savedmodel), DIR/*.onnx (onnx), FILE.tflite (litert) or the folder DIR (openvino).")
@click.option("--format", "export_format", type=click.Choice(("savedmodel", "onnx", "litert", "openvino")),
              default="savedmodel", show_default=True,
              help="TensorFlow Serving SavedModel; ONNX through tf2onnx (the onnx extra); LiteRT (TensorFlow Lite) "
                   "through TensorFlow's converter; OpenVINO IR through OpenVINO's converter (the openvino extra).")
@click.option("--model-version", type=int, default=1, show_default=True,
              help="SavedModel version folder (TF Serving serves the highest).")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing version folder (a SavedModel), existing .onnx files, .tflite file or "
                   "OpenVINO folder; written first, swapped in when complete.")
@one_line_errors
def export_command(model, out, export_format, model_version, overwrite):
    """Export a generator for serving.

    The SavedModel has the signatures serving_default ({z, psi} -> images uint8), seeds
    ({seeds, psi} -> images, z as `sample --seeds`), mapping ({z} -> ws) and synthesis
    ({ws} -> images); conditional models also take `labels` (int32 class ids). ONNX,
LiteRT and OpenVINO hold serving_default, mapping and synthesis (draw z from seeds
with NumPy); every format has a dynamic batch.

    \b
    Example:
      kstylegan export --model ffhq --out served/ffhq
      kstylegan export --model ffhq --out onnx/ffhq --format onnx
      kstylegan export --model ffhq --out ffhq.tflite --format litert
      kstylegan export --model ffhq --out openvino/ffhq --format openvino
    """
    from keras_stylegan import export

    g = load_generator(model)
    if export_format == "onnx":
        try:
            paths = export.export_onnx(g, out, overwrite=overwrite)
        except ImportError as e:  # tf2onnx missing: one line, like the other expected failures
            raise ValueError(str(e)) from None
        click.echo(f"wrote {', '.join(paths.values())}")
    elif export_format == "litert":
        click.echo(f"wrote {export.export_litert(g, out, overwrite=overwrite)}")
    elif export_format == "openvino":
        try:
            paths = export.export_openvino(g, out, overwrite=overwrite)
        except ImportError as e:  # openvino missing: one line naming the extra
            raise ValueError(str(e)) from None
        click.echo(f"wrote {', '.join(paths.values())}")
    else:
        click.echo(f"wrote {export.export_saved_model(g, out, version=model_version, overwrite=overwrite)}")
