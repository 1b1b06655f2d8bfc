"""Prints a Markdown table of every model card in the zoo, for the README.

Usage: `python benchmarks/zoo_table.py > zoo_table.md`
"""
import urllib.parse

from keras_stylegan.zoo.registry import get_card, list_cards

COLUMNS = ("Name", "Aliases", "Architecture", "Resolution", "Channels", "Conditional", "License", "Source repo",
           "Host")


def row(card):
    """The table cells of one card."""
    resolution = card.resolution + (f" ({card.content_resolution} content)" if card.content_resolution else "")
    conditional = f"yes ({card.num_classes} classes)" if card.conditional else "no"
    return (f"`{card.name}`", ", ".join(f"`{a}`" for a in card.aliases), card.architecture, resolution,
            str(card.channels), conditional, card.license, card.source_repo or "",
            urllib.parse.urlparse(card.urls[0]).netloc or card.urls[0])


def markdown_table(cards):
    """A Markdown table with one row per card."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row(card)) + " |" for card in cards]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table([get_card(name) for name in list_cards()]))
