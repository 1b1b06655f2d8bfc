"""Presets shipped inside the package (see zoo/emoji.json and recipes/emoji)."""
