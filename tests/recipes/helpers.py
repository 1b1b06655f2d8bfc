"""Loading a recipe's script (recipes/ is not a package) as a module, for the recipe tests."""
import importlib.util
import os

RECIPES = os.path.join(os.path.dirname(__file__), "..", "..", "recipes")


def load_recipe_script(recipe, name):
    """`recipes/<recipe>/<name>.py` imported as the module `name`."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(RECIPES, recipe, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
