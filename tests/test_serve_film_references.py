"""The web page's film tab with several references (issue 20): each shot of the film is coloured from
the reference most like it, as ``exemplar video --reference-dir`` chooses, and the job's notes say
which, shot by shot. One reference colours the whole film as before.

A generated two-shot MP4 (test_video_shot_references' scenes: a warm texture, then blue-green discs),
sent over HTTP to test_serve's server (``match`` at size 64).
"""

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install '.[web]'")
av = pytest.importorskip("av", reason="PyAV is not installed (exemplar video needs it)")

from exemplar.core.color import l_to_grey_rgb, rgb_to_l, rgb_to_lab  # noqa: E402
from test_serve import request, run_job, server, upload  # noqa: E402, F401 (server is a fixture)
from test_video_shot_references import HEIGHT, SHOT, WIDTH, _scene_a, _scene_b, _scene_c, _write  # noqa: E402


@pytest.fixture(scope="module")
def two_shot_film(tmp_path_factory):
    """(grey two-shot MP4, {name: colour reference}): shot 1 pans over scene A, shot 2 over scene B."""
    folder = tmp_path_factory.mktemp("film_references")
    a, b = _scene_a(), _scene_b()
    frames = [a[t : t + HEIGHT, 3 * t : 3 * t + WIDTH] for t in range(SHOT)]
    frames += [b[20 : 20 + HEIGHT, 60 - 3 * t : 60 - 3 * t + WIDTH] for t in range(SHOT)]
    film = folder / "two shots.mp4"
    with av.open(str(film), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for frame in frames:
            grey = np.round(l_to_grey_rgb(rgb_to_l(frame)) * 255).astype(np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.dstack([grey] * 3), format="rgb24")))
        out.mux(stream.encode(None))
    references = {"warm street.png": _write(folder / "warm street.png", a[40 : 40 + HEIGHT, 60 : 60 + WIDTH]),
                  "blue garden.png": _write(folder / "blue garden.png", b[40 : 40 + HEIGHT, 20 : 20 + WIDTH]),
                  "checks.png": _write(folder / "checks.png", _scene_c())}
    return film, references


def _film_job(server, film, references, tmp_path):
    """Run a film job with these reference files; -> (job state, decoded RGB frames of the result)."""
    target = upload(server, film, "video")[1]
    ids = [upload(server, path, "reference")[1]["id"] for path in references]
    job = run_job(server, {"target": target["id"], "references": ids, "video": True})
    assert job["state"] == "done", job["message"]
    status, mp4 = request(server, f"/api/jobs/{job['id']}/result")
    assert status == 200
    result = tmp_path / f"{job['id']}.mp4"
    result.write_bytes(mp4)
    with av.open(str(result)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]
    return job, frames


def _mean_b(frames):
    """Mean CIE b* (yellow +, blue -) of RGB uint8 frames."""
    return float(np.mean([rgb_to_lab(f.astype(np.float32) / 255)[..., 2].mean() for f in frames]))


def test_each_shot_of_a_film_job_gets_its_own_reference(server, two_shot_film, tmp_path):
    film, references = two_shot_film
    # the blue shot's reference first: the choice follows the shots, not the upload order
    job, frames = _film_job(server, film, [references["blue garden.png"], references["checks.png"],
                                           references["warm street.png"]], tmp_path)
    notes = job["notes"]
    assert notes[0] == "2 shots; each coloured from the most similar of 3 references:", notes
    assert notes[1].startswith("shot 1: frames 0-9 ") and notes[1].endswith("warm street.png"), notes
    assert notes[2].startswith("shot 2: frames 10-19 ") and notes[2].endswith("blue garden.png"), notes
    assert not any(str(server.workspace.root) in note for note in notes)  # the user's names, not our paths
    assert len(frames) == 2 * SHOT
    assert _mean_b(frames[:SHOT]) > _mean_b(frames[SHOT:]) + 10  # warm shot 1, blue-green shot 2


def test_one_reference_colours_the_whole_film_as_before(server, two_shot_film, tmp_path):
    film, references = two_shot_film
    job, frames = _film_job(server, film, [references["warm street.png"]], tmp_path)
    assert not any("shot" in note for note in job["notes"]), job["notes"]
    assert len(frames) == 2 * SHOT
