"""`kstylegan`: the command-line interface, a thin layer over keras_stylegan."""
import os

import click

from keras_stylegan.cli import common  # noqa: F401 - quiets TensorFlow before it loads
from keras_stylegan.cli import quiet_tensorflow
from keras_stylegan.cli.directions import directions_command
from keras_stylegan.cli.edit import edit_command
from keras_stylegan.cli.encoder import encoder_group
from keras_stylegan.cli.export import export_command
from keras_stylegan.cli.metrics import metrics_command
from keras_stylegan.cli.project import project_command
from keras_stylegan.cli.sample import COMMANDS as SAMPLE_COMMANDS
from keras_stylegan.cli.train import train_command
from keras_stylegan.cli.zoo import zoo_group
from keras_stylegan.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kstylegan")
@click.option("--verbose", is_flag=True, help="Show TensorFlow's start-up log lines (hidden by default).")
def cli(verbose):
    """StyleGAN for Keras: train, sample, mix, interpolate, project, and load NVIDIA's pretrained models.

    Example: kstylegan sample --n 16
    """
    if verbose:
        quiet_tensorflow.uninstall()
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"


cli.add_command(zoo_group)
cli.add_command(train_command)
cli.add_command(project_command)
cli.add_command(export_command)
cli.add_command(metrics_command)
cli.add_command(encoder_group)
cli.add_command(directions_command)
cli.add_command(edit_command)
for command in SAMPLE_COMMANDS:
    cli.add_command(command)

if __name__ == "__main__":
    cli()
