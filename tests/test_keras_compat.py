"""training.keras_compat: importing it under a Keras/TensorFlow that lacks one of the private names
training relies on fails at once, naming the name, the installed versions and the supported ones.

Each import runs in a subprocess with stub ``keras`` and ``tensorflow`` modules in sys.modules, so
no real TensorFlow is loaded (about 0.1 s each) and a name can be taken away at will.
"""

import configparser
import json
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# (owner as the error message spells it, private name): what the stubs below provide.
PRIVATE_NAMES = [
    ("keras.Model", "_maybe_symbolic_build"),
    ("keras.Model", "_flatten_layers"),
    ("tf.distribute.StrategyExtended", "_in_multi_worker_mode"),
    ("keras.callbacks.BackupAndRestore", "_should_save_on_batch"),
    ("keras.callbacks.BackupAndRestore", "_save_model"),
    ("keras.callbacks.BackupAndRestore()", "_current_epoch"),
    ("keras.callbacks.BackupAndRestore()", "_last_batch_seen"),
    ("keras.callbacks.BackupAndRestore()", "_weights_path"),
    ("keras.callbacks.BackupAndRestore()", "_training_metadata_path"),
]

# Stub keras 3.99.0 and tensorflow 2.99.0 holding every name above but sys.argv[1], then the import.
STUB_IMPORT = """
import json, sys, types

missing = sys.argv[1]


def stub_class(name, methods):
    return type(name, (), {m: (lambda self, *args, **kwargs: None) for m in methods if m != missing})


def backup_init(self, backup_dir, **kwargs):
    for name in ("_current_epoch", "_last_batch_seen", "_weights_path", "_training_metadata_path"):
        if name != missing:
            setattr(self, name, 0)


keras = types.ModuleType("keras")
keras.__version__ = "3.99.0"
keras.Model = stub_class("Model", ["_maybe_symbolic_build", "_flatten_layers"])
backup = stub_class("BackupAndRestore", ["_should_save_on_batch", "_save_model"])
backup.__init__ = backup_init
keras.callbacks = types.SimpleNamespace(BackupAndRestore=backup)
tf = types.ModuleType("tensorflow")
tf.__version__ = "2.99.0"
tf.distribute = types.SimpleNamespace(
    StrategyExtended=stub_class("StrategyExtended", ["_in_multi_worker_mode"]),
    MultiWorkerMirroredStrategy=stub_class("MultiWorkerMirroredStrategy", []),
)
sys.modules.update(keras=keras, tensorflow=tf)

import training.keras_compat

print(json.dumps(training.keras_compat.SUPPORTED))
"""


def _import_under_stub(missing):
    return subprocess.run([sys.executable, "-c", STUB_IMPORT, missing], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def _setup_cfg_bounds():
    """{"keras": ">=3.15,<3.16", "tensorflow": ...}: the bounds install_requires gives the two."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    bounds = {}
    for line in config["options"]["install_requires"].splitlines():
        match = re.fullmatch(r"(keras|tensorflow)([<>=!~][^#\s]*)", line.strip())
        if match:
            bounds[match.group(1)] = match.group(2)
    return bounds


def test_import_succeeds_when_every_name_is_there():
    """The control: with nothing taken away the stubbed import works, so the failures below come
    from the missing name alone."""
    result = _import_under_stub(missing="nothing")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("owner", "name"), PRIVATE_NAMES)
def test_import_fails_naming_the_missing_name_and_versions(owner, name):
    result = _import_under_stub(missing=name)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("exemplar.core.errors.ExemplarError: ")
    assert f" {owner}.{name} " in message  # only the one taken away
    assert sum(f".{other} " in message for _, other in PRIVATE_NAMES) == 1
    assert "Keras 3.99.0 / TensorFlow 2.99.0" in message
    bounds = _setup_cfg_bounds()
    assert f"keras{bounds['keras']}" in message and f"tensorflow{bounds['tensorflow']}" in message


def test_supported_versions_match_setup_cfg():
    """keras_compat.SUPPORTED (quoted in its error) and setup.cfg's install_requires say the same."""
    result = _import_under_stub(missing="nothing")
    assert json.loads(result.stdout) == _setup_cfg_bounds()
    assert set(_setup_cfg_bounds()) == {"keras", "tensorflow"}
    assert all("<" in bound for bound in _setup_cfg_bounds().values())  # an upper bound each


def test_no_private_name_is_spelled_outside_keras_compat():
    """The overrides live in one file: a private Keras/TensorFlow name used elsewhere in the package
    would escape the import check."""
    names = re.compile("|".join(rf"\b{name}\b" for _, name in PRIVATE_NAMES))
    spelled = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("exemplar", "training", "data_prep")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "keras_compat.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if names.search(line)
    ]
    assert spelled == []
