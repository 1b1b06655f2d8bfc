"""`kstylegan`: the command-line interface, a thin layer over keras_stylegan."""
import click

from keras_stylegan.cli import common  # noqa: F401 - quiets TensorFlow before it loads
from keras_stylegan.cli.sample import COMMANDS as SAMPLE_COMMANDS
from keras_stylegan.cli.zoo import zoo_group
from keras_stylegan.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kstylegan")
def cli():
    """StyleGAN for Keras: pretrained models, conversion of NVIDIA pickles.

    Example: kstylegan zoo list
    """


cli.add_command(zoo_group)
for command in SAMPLE_COMMANDS:
    cli.add_command(command)

if __name__ == "__main__":
    cli()
