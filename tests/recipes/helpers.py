"""Loading a recipe's script (recipes/ is not a package) as a module, and made-up glyphs, for the recipe tests."""
import importlib.util
import io
import os
import zipfile

import numpy as np
from PIL import Image

RECIPES = os.path.join(os.path.dirname(__file__), "..", "..", "recipes")


def load_recipe_script(recipe, name):
    """`recipes/<recipe>/<name>.py` imported as the module `name`."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(RECIPES, recipe, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_glyphs(path, names):
    """64x64 RGBA discs of a colour per glyph on transparency, named like render_emoji.py's files."""
    rng = np.random.RandomState(0)
    yy, xx = np.mgrid[:64, :64]
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            pixels = np.zeros([64, 64, 4], np.uint8)
            radius = rng.randint(12, 30)
            pixels[(yy - 32) ** 2 + (xx - 32) ** 2 < radius ** 2] = list(rng.randint(0, 256, 3)) + [255]
            buffer = io.BytesIO()
            Image.fromarray(pixels, "RGBA").save(buffer, "PNG")
            archive.writestr(name, buffer.getvalue())
