"""`kstylegan`: the command-line interface, a thin layer over keras_stylegan."""
import click

from keras_stylegan.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kstylegan")
def cli():
    """StyleGAN for Keras: sample, train, convert and export models.

    Example: kstylegan sample --n 16 --out grid.png
    """


if __name__ == "__main__":
    cli()
