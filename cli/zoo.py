"""`kstylegan zoo`: list, inspect, download and convert pretrained models."""
import json

import click

from keras_stylegan.cli.common import OneLineGroup, one_line_errors


@click.group("zoo", cls=OneLineGroup)
def zoo_group():
    """Pretrained models: NVIDIA's published StyleGAN/StyleGAN2 networks and plugins.

    Example: kstylegan zoo info ffhq
    """


@zoo_group.command("list")
def list_command():
    """List every model card (name, resolution, architecture, license).

    Example: kstylegan zoo list
    """
    from keras_stylegan.zoo import get_card, list_cards

    for name in list_cards():
        card = get_card(name)
        aliases = f" ({', '.join(card.aliases)})" if card.aliases else ""
        click.echo(f"{name}{aliases}  {card.resolution}  {card.architecture}  {card.license}")


@zoo_group.command("info")
@click.argument("name")
@one_line_errors
def info_command(name):
    """Show a model card as JSON.

    Example: kstylegan zoo info ffhq
    """
    from keras_stylegan.zoo import get_card

    click.echo(json.dumps(get_card(name).to_dict(), indent=1))


@zoo_group.command("download")
@click.argument("name")
@click.option("--refresh", is_flag=True,
              help="Forget the checksum pinned for this model and its cached file, and download it again. "
                   "Both are replaced only once the new file is verified; the preset converted from the old "
                   "file is then removed.")
@one_line_errors
def download_command(name, refresh):
    """Download a model's pickle into the cache and print its path.

    Without a checksum on the card, the first download that is a readable StyleGAN pickle has its
    sha256 pinned in the cache's checksums.json; an error page, an empty or cut-short file is refused.
    --refresh replaces a pinned file that changed upstream.

    Example: kstylegan zoo download stylegan2-ffhq-1024
    """
    from keras_stylegan.zoo import get_card
    from keras_stylegan.zoo.download import download

    card = get_card(name)
    if card.source_format == "preset":
        raise ValueError(f"the model card {card.name!r} ships with keras-stylegan: there is nothing to download")
    path = download(card.urls[0], sha256=card.sha256, filename=f"{card.name}.pkl", refresh=refresh)
    if refresh:  # zoo.load would keep using the preset converted from the previous download
        import os
        import shutil

        from keras_stylegan.zoo.download import cache_dir
        from keras_stylegan.zoo.presets import METADATA_FILE, is_preset_dir

        converted = os.path.join(cache_dir("presets"), card.name)
        try:
            with open(os.path.join(converted, METADATA_FILE), encoding="utf-8") as f:
                ours = is_preset_dir(converted) and json.load(f).get("card") == card.name
        except (OSError, ValueError, AttributeError):
            ours = False  # not a preset zoo.load converted for this card: leave it alone
        if ours:
            shutil.rmtree(converted)
    click.echo(path)


@zoo_group.command("convert")
@click.argument("pickle_path", type=click.Path(dir_okay=False))
@click.argument("outdir", type=click.Path(file_okay=False))
@click.option("--no-discriminator", is_flag=True, help="Convert only the generator.")
@click.option("--float16", is_flag=True, help="Store the weights as float16 (half the size).")
@click.option("--overwrite", is_flag=True, help="Replace OUTDIR if it already holds a preset.")
@one_line_errors
def convert_command(pickle_path, outdir, no_discriminator, float16, overwrite):
    """Convert an official NVIDIA pickle (TF1 or PyTorch) into a local preset.

    The pickle is read with a restricted unpickler: no code inside it runs. OUTDIR must be
    new or empty; an existing preset is replaced only with --overwrite, and any other
    directory is refused (nothing of yours is deleted).

    Example: kstylegan zoo convert stylegan2-ffhq-config-f.pkl ffhq-preset/
    """
    from keras_stylegan.zoo.convert import convert_pickle
    from keras_stylegan.zoo.presets import check_preset_target, save_preset

    check_preset_target(outdir, overwrite)  # before the slow conversion; checked again before the rename
    out = convert_pickle(pickle_path, discriminator=not no_discriminator)
    metadata = dict(out["metadata"], source=str(pickle_path))
    path = save_preset(outdir, out["generator"], out["discriminator"], metadata=metadata,
                       weights_dtype="float16" if float16 else "float32", overwrite=overwrite)
    click.echo(f"wrote {path}")


@zoo_group.command("upload")
@click.argument("preset_dir", type=click.Path(file_okay=False))
@click.argument("uri")
@click.option("--message", default=None, help="Commit message (Hugging Face) or version notes (Kaggle).")
@one_line_errors
def upload_command(preset_dir, uri, message):
    """Publish a preset directory on Hugging Face (hf://owner/repo) or Kaggle (kaggle://owner/model/keras/variant).

    The preset must be in KerasHub's layout (what `zoo convert`, training snapshots and
    Generator.save_to_preset write). Uses the hub's client and its login: `hf auth login`, or
    ~/.kaggle/kaggle.json. Needs `pip install 'keras-stylegan[hub]'`.

    Example: kstylegan zoo upload ffhq-preset/ hf://you/stylegan2-ffhq
    """
    from keras_stylegan.zoo.hub import parse_hub_uri, upload_preset

    parse_hub_uri(uri)  # a malformed URI is reported before the preset is read
    click.echo(f"uploaded {preset_dir} to {uri}: {upload_preset(preset_dir, uri, message=message)}")
