"""The package's import graph runs one way (issue 20): lower floors never import higher ones.

Every module of `keras_stylegan/` and `cli/` (installed as `keras_stylegan.cli`) is parsed with `ast`,
imports inside functions included: a lazy import hides a circle from Python, not from this test.
Floors, lowest first (a package may import its own floor and the floors below):

    utils, version, presets (data)  <  layers  <  networks  <  sampling, data
        <  training, projection, editing, metrics, export, zoo  <  cli  <  the package root

Imports between packages of one floor are allowed while they make no circle. The one edge up is
`networks -> zoo`, inside `Generator.from_preset` (and its twin `save_to_preset`): presets are the zoo's work.
"""
import ast
import collections
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
ROOT = "(root)"  # keras_stylegan/__init__.py and _registration.py: the lazy front door, above everything

FLOORS = [
    {"utils", "version", "presets"},
    {"layers"},
    {"networks"},
    {"sampling", "data"},
    {"training", "projection", "editing", "metrics", "export", "zoo"},
    {"cli"},
    {ROOT, "_registration"},
]
FLOOR = {package: level for level, packages in enumerate(FLOORS) for package in packages}

# (importing module, function it happens in, imported package): the only imports allowed upward.
# `save_to_preset` is from_preset's twin (KerasHub's pair), added by issue 19's preset work.
ALLOWED_UPWARD = {("keras_stylegan.networks.generator", "from_preset", "zoo"),
                  ("keras_stylegan.networks.generator", "save_to_preset", "zoo")}


Import = collections.namedtuple("Import", "module function target names line")


def _module_files():
    for path in sorted((REPO / "keras_stylegan").rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path
    for path in sorted((REPO / "cli").glob("*.py")):
        yield "keras_stylegan.cli" + ("" if path.stem == "__init__" else "." + path.stem), path


MODULES = dict(_module_files())


def package_of(module):
    """`keras_stylegan.zoo.api` -> `zoo`; `keras_stylegan.sampling` -> `sampling`; the package itself -> ROOT."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def _imports(module, path):
    """Every import of our own modules in `module`: `Import`s, with the enclosing function (or None)."""
    is_package = path.name == "__init__.py"
    here = module if is_package else module.rsplit(".", 1)[0]
    found = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "keras_stylegan":
                        found.append(Import(module, function, alias.name, (), child.lineno))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = here.split(".")[:len(here.split(".")) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.split(".")[0] == "keras_stylegan":
                    names = tuple(alias.name for alias in child.names)
                    submodules = [name for name in names if f"{target}.{name}" in MODULES]
                    for name in submodules:  # `from keras_stylegan.zoo import presets` imports that module
                        found.append(Import(module, function, f"{target}.{name}", (), child.lineno))
                    names = tuple(name for name in names if name not in submodules)
                    if names or not submodules:
                        found.append(Import(module, function, target, names, child.lineno))
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), None)
    return found


IMPORTS = [found for module, path in MODULES.items() for found in _imports(module, path)]


def _private_attribute_uses(module, path):
    """`alias._name` where `alias` names one of our modules (`from keras_stylegan import sampling`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("keras_stylegan") \
                and not node.level:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("keras_stylegan") and alias.asname:
                    aliases[alias.asname] = alias.name
    return [(module, aliases[node.value.id], node.attr, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
            and _is_private(node.attr) and aliases[node.value.id] != module]


def _is_private(name):
    return name.startswith("_") and not name.startswith("__")


def _describe(found):
    where = f" in {found.function}()" if found.function else ""
    return f"{found.module}:{found.line}{where} imports {found.target}"


def test_the_parser_sees_lazy_and_relative_imports():
    # Guards the test itself: it must see an import made inside a function.
    lazy = [found for found in IMPORTS if found.module == "keras_stylegan.networks.generator"
            and found.function == "from_preset"]
    assert lazy and package_of(lazy[0].target) == "zoo"
    assert len(MODULES) > 60 and "keras_stylegan.cli.main" in MODULES


def test_every_package_has_a_floor():
    packages = {package_of(module) for module in MODULES}
    assert packages <= set(FLOOR), f"packages without a floor in this test: {sorted(packages - set(FLOOR))}"


def test_imports_never_go_up_a_floor():
    upward = [_describe(found) for found in IMPORTS
              if FLOOR[package_of(found.target)] > FLOOR[package_of(found.module)]
              and (found.module, found.function, package_of(found.target)) not in ALLOWED_UPWARD]
    assert not upward, "imports up a floor:\n" + "\n".join(upward)


def _strongly_connected(graph):
    """Tarjan's algorithm: the strongly connected components of `graph` (node -> set of nodes)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return components


def test_no_circles_between_packages():
    graph = collections.defaultdict(set)
    for found in IMPORTS:
        source, target = package_of(found.module), package_of(found.target)
        if source != target and (found.module, found.function, target) not in ALLOWED_UPWARD:
            graph[source].add(target)
    circles = [sorted(component) for component in _strongly_connected(graph) if len(component) > 1]
    assert not circles, f"packages that import each other (directly or round about): {circles}"


def test_strongly_connected_finds_a_circle():
    # The checker above can fail: a round-about circle is one component.
    components = _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert sorted(map(sorted, components)) == [["a", "b", "c"], ["d"]]


def test_no_private_names_across_modules():
    private = [f"{found.module}:{found.line} imports {name} from {found.target}" for found in IMPORTS
               for name in found.names if _is_private(name) and found.target != found.module]
    private += [f"{module}:{line} uses {target}.{name}" for module, path in MODULES.items()
                for module, target, name, line in _private_attribute_uses(module, path)]
    assert not private, "private names used outside their module:\n" + "\n".join(private)


@pytest.mark.parametrize("module", ["keras_stylegan.layers.noise", "keras_stylegan.sampling"])
def test_image_and_noise_helpers_do_not_reach_into_the_network(module):
    # A layer file or the sampling helpers must not know the generator's shape (`generator.synthesis.blocks`):
    # which noise layers a network has is the network's to say.
    assert "synthesis.blocks" not in MODULES[module].read_text(encoding="utf-8")


def test_no_module_swaps_the_stored_noise_maps():
    # Figures and metrics pass `noise=` to the synthesis network (as the trainer does) instead of
    # assigning new `noise_const` maps and restoring them afterwards.
    swapping = [module for module, path in MODULES.items() if "noise_const.assign" in path.read_text(encoding="utf-8")]
    assert not swapping, f"modules that overwrite stored noise maps: {swapping}"
