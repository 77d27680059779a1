"""The dependency direction of the package: each module imports only its own layer or the ones below.

Layers, low to high (issue 21): core (colour science, image files, errors) < model (encoder, network,
bins) < methods (match, net, palettes, hints) < pipeline (the colorizer, reference search) <
evaluation < films (the video pipeline, which the web page reuses) < front ends (CLI, batch engines,
web server, the package's own __init__). A new module must be given a layer here: an unplaced module
fails the test, so the map cannot silently fall behind the code. Each layer is a folder of
the package (exemplar/core/, exemplar/model/, ...), so the layout shows the architecture.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "exemplar"

LAYERS = [
    ("core", ["core"]),
    ("model", ["model"]),
    ("methods", ["methods"]),
    ("pipeline", ["pipeline", "api"]),
    ("evaluation", ["evaluation"]),
    ("films", ["video"]),
    ("front ends", ["cli", "scale", "serve", "__init__", "__main__", "weights", "demo"]),
]
RANK = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names}


def layer_of(module):
    """'exemplar.model.color_net' -> the rank of 'model'; None for a module no layer names."""
    parts = module.split(".")
    return RANK.get(parts[1] if len(parts) > 1 else "__init__")


def exemplar_imports(path, package=PACKAGE):
    """Every exemplar module the file imports (top level or inside functions), absolute names."""
    module = module_name(path, package)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "exemplar"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = module.split(".")[: -node.level if path.name != "__init__.py" else len(module.split("."))]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] == "exemplar":
                if name != "exemplar":
                    found.add(name)
                    continue
                # "from exemplar import api" imports the module exemplar.api; "from exemplar import
                # colorize" takes a name from the package's __init__ (the public API, a front end).
                for alias in node.names:
                    is_module = (package / f"{alias.name}.py").exists() or (package / alias.name).is_dir()
                    found.add(f"exemplar.{alias.name}" if is_module else "exemplar.__init__")
    return found


def module_name(path, package=PACKAGE):
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def violations(package=PACKAGE):
    """(importer, imported, why) for each import that points up the layers or at an unplaced module."""
    found = []
    for path in sorted(package.rglob("*.py")):
        importer = module_name(path, package)
        if importer == "exemplar":
            importer = "exemplar.__init__"
        low = layer_of(importer)
        if low is None:
            found.append((importer, "", "no layer: add it to LAYERS in tests/test_import_direction.py"))
            continue
        for imported in sorted(exemplar_imports(path, package)):
            high = layer_of(imported)
            if high is not None and high > low:
                found.append((importer, imported, f"{LAYERS[low][0]} imports {LAYERS[high][0]}"))
    return found


def test_every_module_imports_only_its_layer_or_below():
    assert violations() == []


def test_the_check_fails_when_a_low_module_imports_a_front_end(tmp_path):
    # A copy of the package where colour science imports the web server: the check must see it.
    fake = tmp_path / "exemplar"
    for path in PACKAGE.rglob("*.py"):
        target = fake / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    color = fake / "core" / "color.py"
    color.write_text(color.read_text() + "\nfrom exemplar.serve import app\n")
    assert violations(fake) == [("exemplar.core.color", "exemplar.serve", "core imports front ends")]


@pytest.mark.parametrize("source, expected", [
    ("from exemplar.model.color_net import ColorNet", {"exemplar.model.color_net"}),
    ("import exemplar.video.api", {"exemplar.video.api"}),
    ("from exemplar import api, hints", {"exemplar.api", "exemplar.hints"}),
    ("def f():\n    from exemplar.serve.app import make_app", {"exemplar.serve.app"}),
    ("from exemplar import colorize", {"exemplar.__init__"}),
    ("import numpy as np", set()),
])
def test_imports_are_found_wherever_they_are(tmp_path, source, expected):
    path = tmp_path / "exemplar" / "probe.py"
    path.parent.mkdir()
    for module in ("api.py", "hints.py"):
        (path.parent / module).write_text("")
    path.write_text(source)
    assert exemplar_imports(path, tmp_path / "exemplar") == expected
