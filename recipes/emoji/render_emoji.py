"""Renders every bitmap glyph of Noto Color Emoji into a zip of 64x64 RGBA PNGs.

Needs the Debian package `fonts-noto-color-emoji` and `pip install fonttools` (recipe only;
the library does not depend on it). Single code points come from the font's cmap, sequences
(skin tones, flags, keycaps, ZWJ families) from its GSUB ligatures.

    python recipes/emoji/render_emoji.py --out emoji64.zip
"""
import argparse
import io
import zipfile

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
FONT_SIZE = 109  # the only size of the font's CBDT bitmaps


def sequences(font_path):
    """Code-point sequences with a glyph: cmap singles plus GSUB ligatures spelled in code points."""
    font = TTFont(font_path)
    cmap = font.getBestCmap()
    by_glyph = {glyph: cp for cp, glyph in cmap.items()}
    found = {(cp,) for cp in cmap if cp > 0x7F or chr(cp) in "#*0123456789"}
    for lookup in font["GSUB"].table.LookupList.Lookup:
        for subtable in lookup.SubTable:
            ligatures = getattr(subtable, "ligatures", None) or getattr(
                getattr(subtable, "ExtSubTable", None), "ligatures", None) or {}
            for first, entries in ligatures.items():
                for ligature in entries:
                    glyphs = [first] + list(ligature.Component)
                    if all(g in by_glyph for g in glyphs):
                        found.add(tuple(by_glyph[g] for g in glyphs))
    return sorted(found)


def render(text, font, size=64):
    canvas = Image.new("RGBA", (FONT_SIZE * 3, FONT_SIZE * 2), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((FONT_SIZE // 2, FONT_SIZE // 4), text, font=font, embedded_color=True)
    box = canvas.getbbox()
    if box is None:
        return None
    glyph = canvas.crop(box)
    side = max(glyph.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    image = square.resize((size, size), Image.LANCZOS)
    pixels = np.array(image)
    pixels[pixels[..., 3] == 0, :3] = 0  # no stray colour under full transparency
    return Image.fromarray(pixels, "RGBA")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="emoji64.zip")
    parser.add_argument("--font", default=FONT)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    font = ImageFont.truetype(args.font, FONT_SIZE)
    seen, count = set(), 0
    with zipfile.ZipFile(args.out, "w") as archive:
        for seq in sequences(args.font):
            image = render("".join(map(chr, seq)), font, args.size)
            if image is None:
                continue
            digest = image.tobytes()
            if digest in seen:  # a sequence the font draws as another glyph
                continue
            seen.add(digest)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            archive.writestr("u" + "_".join(f"{cp:04x}" for cp in seq) + ".png", buffer.getvalue())
            count += 1
    print(f"{count} emoji written to {args.out}")


if __name__ == "__main__":
    main()
