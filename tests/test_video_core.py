"""A film job runs the colorizer's own steps (issue 21): its vividness reaches every keyframe, and a
resumed run joins a killed one only when every setting that changes the frames is the same.

The network is the random-init hint-trained ColorNet of conftest on a shared random-init encoder:
only what reaches the frames is tested, not how good they look.
"""

import json
import shutil
import warnings

import cv2
import numpy as np
import pytest

from exemplar.pipeline.colorizer import Colorizer
from exemplar.core.errors import ExemplarWarning
from exemplar.video.video_colorizer import VideoColorizer

FRAMES = 12


@pytest.fixture
def film(tmp_path):
    """12 frames (64x96) of a bright square moving over a gradient, as a frame folder."""
    folder = tmp_path / "film"
    folder.mkdir()
    for t in range(FRAMES):
        grey = np.round(40 + 1.5 * np.arange(96, dtype=np.float32))[None].repeat(64, axis=0)
        grey[20:44, 5 + 4 * t : 29 + 4 * t] = 210
        cv2.imwrite(str(folder / f"{t:03d}.png"), grey.astype(np.uint8))
    return folder


def _frames(folder):
    return [cv2.imread(str(p)) for p in sorted(folder.glob("*.png"))]


def test_a_film_jobs_vividness_is_the_colorizers(film, tmp_path, hinted_model, one_encoder):
    """vividness= of the film job gives the frames of a colorizer built with that vividness."""
    per_job = VideoColorizer(Colorizer(size=64, weights=hinted_model), keyframe_interval=4)
    built = VideoColorizer(Colorizer(size=64, weights=hinted_model, vividness=0.9), keyframe_interval=4)
    per_job.run(film, tmp_path / "per_job", vividness=0.9)
    built.run(film, tmp_path / "built")
    for a, b in zip(_frames(tmp_path / "per_job"), _frames(tmp_path / "built"), strict=True):
        assert np.array_equal(a, b)


def test_a_run_with_other_weights_does_not_resume_a_killed_one(film, tmp_path, hinted_model, one_encoder):
    """--resume --weights B once joined two models' output in one film; now it starts afresh."""
    other = tmp_path / "other_model"
    shutil.copytree(hinted_model, other)
    meta = json.loads((other / "default.json").read_text())
    meta.setdefault("info", {})["note"] = "another model"  # other model files: another digest
    (other / "default.json").write_text(json.dumps(meta))

    def killed_at_frame_7(done, total):
        if done == 7:
            raise KeyboardInterrupt

    first = VideoColorizer(Colorizer(size=64, weights=hinted_model), keyframe_interval=4, segment_frames=5)
    with pytest.raises(KeyboardInterrupt):
        first.run(film, tmp_path / "out", on_progress=killed_at_frame_7)
    second = VideoColorizer(Colorizer(size=64, weights=other), keyframe_interval=4, segment_frames=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExemplarWarning)
        result = second.run(film, tmp_path / "out", resume=True)
    assert result.resumed_at == 0 and result.frames == FRAMES
    assert any("other inputs or options" in str(w.message) for w in caught)


def test_the_resume_key_covers_every_setting_that_changes_the_frames(hinted_model, one_encoder):
    """Model files, follow-reference, the colorizer's and the job's vividness, size and method."""
    from exemplar.video.reference_schedule import ReferenceSchedule

    reader = type("Reader", (), {"path": __file__, "frame_count": FRAMES})()
    schedule = ReferenceSchedule([], None, [], 25)

    def key(colorizer, vividness=None, strength=1.0):
        return json.dumps(VideoColorizer(colorizer)._job(reader, schedule, strength, vividness=vividness))

    base = Colorizer(size=64, weights=hinted_model)
    keys = [key(base), key(base, vividness=0.3), key(base, strength=0.5),
            key(Colorizer(size=64, weights=hinted_model, vividness=0.3)),
            key(Colorizer(size=64, weights=hinted_model, follow_reference=True)),
            key(Colorizer(size=96, weights=hinted_model)), key(Colorizer(method="match", size=64))]
    assert len(set(keys)) == len(keys)
    assert key(base) == key(Colorizer(size=64, weights=hinted_model))  # the same settings resume
