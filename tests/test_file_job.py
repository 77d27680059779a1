"""The one-file job every front end runs (exemplar.pipeline.file_job): output checked before any work, warnings
collected, errors mapped to the file they are about. A stand-in colorizer: no model is needed."""

import warnings

import numpy as np
import pytest

from exemplar.pipeline.colorizer import Colorized
from exemplar.core.errors import ExemplarWarning
from exemplar.core.errors import ExemplarError, ImageError
from exemplar.pipeline.file_job import colorize_file, failure
from exemplar.core.image_io import read_image


class StandIn:
    """Records its calls; warns once and returns a flat orange (16, 24) picture."""

    def __init__(self):
        self.calls = []

    def run(self, target, references, **options):
        self.calls.append((target, references, options))
        warnings.warn(f"{target}: target is in colour; only its luminance is used", ExemplarWarning)
        return Colorized(rgb=np.full((16, 24, 3), (0.9, 0.5, 0.1), np.float32), alpha=None, bit_depth=8)


def test_the_output_is_written_and_the_warnings_handed_back(tmp_path):
    colorizer, output = StandIn(), tmp_path / "out.png"
    done = colorize_file(colorizer, "photo.png", output, ("ref.jpg",), strength=0.5, vividness=0.7, hints=["1,2=red"])
    assert done.warnings == ("photo.png: target is in colour; only its luminance is used",)
    assert read_image(output).rgb.shape == (16, 24, 3) and done.colorized.rgb.shape == (16, 24, 3)
    assert colorizer.calls == [("photo.png", ["ref.jpg"], {"strength": 0.5, "palette": None, "vividness": 0.7,
                                                          "hints": ["1,2=red"]})]
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # nothing else left behind


def test_an_existing_output_is_refused_before_any_work(tmp_path):
    colorizer, output = StandIn(), tmp_path / "out.png"
    output.write_bytes(b"keep me")
    with pytest.raises(ImageError, match="already exists"):
        colorize_file(colorizer, "photo.png", output)
    assert colorizer.calls == [] and output.read_bytes() == b"keep me"
    colorize_file(colorizer, "photo.png", output, overwrite=True)
    assert read_image(output).rgb.shape == (16, 24, 3)


def test_failures_name_the_file_they_are_about():
    assert failure(ImageError("ref.jpg", "file not found"), "photo.png") == (
        "ref.jpg", "file not found", "ref.jpg: file not found")
    assert failure(ExemplarError("colour hints need --method net"), "photo.png") == (
        "photo.png", "colour hints need --method net", "colour hints need --method net")
    file, reason, message = failure(MemoryError("no room"), "photo.png")
    assert (file, reason, message) == ("photo.png", "unexpected MemoryError: no room",
                                       "photo.png: unexpected MemoryError: no room")
