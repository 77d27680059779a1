"""``exemplar video`` through click's CliRunner: frames, size, fps, audio and L kept; resume; bad input.

Clips are generated here (64x48, 8 frames of moving shapes, with a 440 Hz tone); the colorizer
is ``match`` at working size 64, the cheapest that works.
"""

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from exemplar.cli.main import main
from exemplar.core.color import rgb_to_l

FPS, FRAMES, WIDTH, HEIGHT = 12, 8, 64, 48


def _frame(i):
    """(48, 64, 3) uint8 grey frame i: a gradient with a square and a disc moving across it."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    grey = 60 + 100 * x / WIDTH + 20 * np.sin(y / 5.0)
    grey[8:24, 4 + 3 * i : 20 + 3 * i] = 220
    grey[(y - 32) ** 2 + (x - 50 + 2 * i) ** 2 < 64] = 30
    return np.repeat(np.round(grey).astype(np.uint8)[..., None], 3, axis=2)


def _write_clip(path, codec="libx264", audio=True, frames=FRAMES):
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        if audio:
            sound = out.add_stream("aac", rate=16000)
            sound.layout = "mono"
        for i in range(frames):
            out.mux(video.encode(av.VideoFrame.from_ndarray(_frame(i), format="rgb24")))
        out.mux(video.encode(None))
        if audio:
            t = np.arange(16000 * frames // FPS) / 16000
            tone = av.AudioFrame.from_ndarray((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None],
                                              format="fltp", layout="mono")
            tone.sample_rate = 16000
            out.mux(sound.encode(tone))
            out.mux(sound.encode(None))
    return path


def _decoded(path):
    """All frames of a video as (N, H, W, 3) uint8, and (fps, audio codec names, audio packet sizes)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = stream.average_rate
        audio = [s.codec_context.name for s in container.streams.audio]
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
    with av.open(str(path)) as container:
        sizes = [p.size for s in container.streams.audio[:1] for p in container.demux(s) if p.size]
    return frames, fps, audio, sizes


@pytest.fixture
def clip(tmp_path):
    return _write_clip(tmp_path / "film.mp4")


@pytest.fixture
def reference(tmp_path):
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:] = (40, 110, 190)
    rgb[8:30, 10:40] = (210, 70, 40)
    path = tmp_path / "ref.png"
    cv2.imwrite(str(path), rgb[..., ::-1])
    return path


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args] + ["--method", "match", "--size", "64"])


def _l(frames):
    return rgb_to_l(frames.astype(np.float32) / 255)


def test_video_keeps_frames_size_fps_audio_and_luminance(clip, reference, tmp_path):
    out = tmp_path / "out.mp4"
    result = _run("video", clip, "-r", reference, "-o", out)
    assert result.exit_code == 0, result.output
    assert "audio copied" in result.output and "frames/s" in result.output
    frames, fps, audio, sizes = _decoded(out)
    source, source_fps, _, source_sizes = _decoded(clip)
    assert frames.shape == source.shape == (FRAMES, HEIGHT, WIDTH, 3) and fps == source_fps == FPS
    assert audio == ["aac"] and sizes == source_sizes  # the same audio packets, copied
    assert np.abs(_l(frames) - _l(source)).mean() < 1.5  # H.264 4:2:0 at CRF 18 is close, not exact
    chroma = np.abs(frames.astype(int) - frames.mean(axis=3, keepdims=True)).mean()
    assert chroma > 3  # coloured
    # As PNG frames the luminance is kept exactly (to 8-bit rounding).
    folder = tmp_path / "frames"
    assert _run("video", clip, "-r", reference, "-o", folder).exit_code == 0
    pngs = np.stack([cv2.imread(str(p))[..., ::-1] for p in sorted(folder.glob("*.png"))])
    assert pngs.shape == source.shape
    assert np.abs(_l(pngs) - _l(source)).max() < 0.6
    assert not list(tmp_path.glob(".*partial*"))


def test_frame_folder_in_avi_out_with_reference_switch(reference, tmp_path):
    folder = tmp_path / "scan"
    folder.mkdir()
    for i in range(FRAMES):  # frame_9 before frame_10: ordered by number, not by name
        cv2.imwrite(str(folder / f"frame_{i + 5}.png"), _frame(i))
    second = tmp_path / "ref2.jpg"
    cv2.imwrite(str(second), np.full((40, 40, 3), (40, 160, 60), np.uint8))
    out = tmp_path / "out.avi"
    result = _run("video", folder, "-r", reference, "--reference-at", f"4={second}", "--fps", 10, "-o", out)
    assert result.exit_code == 0, result.output
    frames, fps, audio, _ = _decoded(out)
    assert frames.shape == (FRAMES, HEIGHT, WIDTH, 3) and fps == 10 and audio == []
    # MPEG-4 Part 2 at quantiser 2, 4:2:0 chroma on a 64x48 frame: close, not exact
    assert np.abs(_l(frames) - _l(np.stack([_frame(i) for i in range(FRAMES)]))).mean() < 2.5


def test_resume_after_interruption_redoes_only_unfinished_frames(clip, reference, tmp_path):
    from exemplar.pipeline.colorizer import Colorizer
    from exemplar.video.video_colorizer import VideoColorizer

    job = VideoColorizer(Colorizer(method="match", size=64), segment_frames=3)
    out = tmp_path / "out.mkv"
    seen = []

    def killed_at_frame_5(done, total):
        seen.append(done)
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.run(clip, out, [reference], on_progress=killed_at_frame_5)
    assert not out.exists()  # nothing at OUTPUT until it is complete
    assert (tmp_path / ".out.mkv.partial" / "state.npz").exists()
    seen.clear()
    result = job.run(clip, out, [reference], resume=True, on_progress=lambda done, total: seen.append(done))
    assert result.resumed_at == 3 and seen == [4, 5, 6, 7, 8]  # frames 1-3 (one segment) were kept
    assert _decoded(out)[0].shape[0] == FRAMES and result.audio == "copied"
    assert not (tmp_path / ".out.mkv.partial").exists()


def test_resumed_run_gives_the_frames_of_an_uninterrupted_one(clip, reference, tmp_path):
    """Frames are held between keyframes; a segment's last frame is a keyframe, so the state saved
    there is complete and a resumed run writes exactly what an uninterrupted run writes."""
    from exemplar.pipeline.colorizer import Colorizer
    from exemplar.video.video_colorizer import VideoColorizer

    job = VideoColorizer(Colorizer(method="match", size=64), keyframe_interval=4, segment_frames=5)

    def killed_at_frame_7(done, total):
        if done == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.run(clip, tmp_path / "resumed", [reference], on_progress=killed_at_frame_7)
    resumed = job.run(clip, tmp_path / "resumed", [reference], resume=True)
    whole = job.run(clip, tmp_path / "whole", [reference])
    assert resumed.resumed_at == 5 and whole.frames == resumed.frames == FRAMES
    for a, b in zip(sorted((tmp_path / "whole").iterdir()), sorted((tmp_path / "resumed").iterdir())):
        assert a.name == b.name and np.array_equal(cv2.imread(str(a)), cv2.imread(str(b)))


def _truncated(path, tmp_path, suffix):
    data = _write_clip(tmp_path / f"whole{suffix}", frames=24).read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _bad_input(kind, tmp_path):
    """Write an input of the given bad kind; -> its path."""
    path = tmp_path / {"folder_empty": "empty_frames", "no_frames": "blank.avi", "audio_only": "sound.mkv",
                       "truncated_mkv": "cut.mkv", "codec": "odd.mkv"}.get(kind, "film.mp4")
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a film\n" * 50)
    elif kind in ("truncated_mp4", "truncated_mkv"):
        _truncated(path, tmp_path, path.suffix)
    elif kind == "folder_empty":
        path.mkdir()
        (path / "notes.txt").write_text("no frames here")
    elif kind == "no_frames":
        with av.open(str(path), "w") as out:
            stream = out.add_stream("mpeg4", rate=FPS)  # AVI keeps a header for a stream never written to
            stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
            out.start_encoding()
    elif kind == "audio_only":
        with av.open(str(path), "w") as out:
            sound = out.add_stream("aac", rate=16000)
            tone = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format="fltp", layout="mono")
            tone.sample_rate = 16000
            out.mux(sound.encode(tone))
            out.mux(sound.encode(None))
    elif kind == "codec":  # a codec FFmpeg has no decoder for: rename H.264's Matroska codec ID
        data = _write_clip(tmp_path / "whole.mkv", audio=False).read_bytes()
        path.write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_MPEG4/ISO/XYZ"))
    return path


@pytest.mark.parametrize("kind, problem", [
    ("missing", "not found"), ("empty", "empty"), ("text", "not a video"), ("truncated_mp4", "truncated"),
    ("truncated_mkv", "truncated"), ("no_frames", "no frames"), ("audio_only", "no video stream"),
    ("codec", "not supported"), ("folder_empty", "no numbered frames"),
])
def test_bad_input_is_refused_naming_the_file(kind, problem, reference, tmp_path):
    source = _bad_input(kind, tmp_path)
    out = tmp_path / "out.mp4"
    result = _run("video", source, "-r", reference, "-o", out)
    assert result.exit_code == 1, result.output
    assert str(source) in result.output and problem in result.output and "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_existing_output_is_refused_and_kept(clip, reference, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    result = _run("video", clip, "-r", reference, "-o", out)
    assert result.exit_code == 1 and "already exists" in result.output and str(out) in result.output
    assert out.read_bytes() == b"precious"


def test_reference_times_and_frames():
    from exemplar.video.reference_schedule import ReferenceSchedule, parse_when

    assert [parse_when(t, 25) for t in ("2250", "1:30", "00:01:30", "90s", "0:00:01.5")] == [2250, 2250, 2250, 2250, 38]
    schedule = ReferenceSchedule(["a.jpg"], reference_at=[("2s", "b.jpg"), ("50", "c.jpg")], fps=25)
    assert schedule.at(0).references == ("a.jpg",) and schedule.at(49).references == ("a.jpg",)
    assert schedule.at(50).references == ("b.jpg", "c.jpg")


def test_frames_between_keyframes_blend_both_keyframes_and_guesses_are_replaced():
    """A pan with keyframes at frames 0 and 4, whose colorizer colours differ. The frames between
    come out only with frame 4 and change gradually from one keyframe's colour to the next (no jump
    at the keyframe); frame 4 keeps ``keep`` of the colour carried to it times their agreement (here
    they differ by 34 ab units, so it takes the colorizer's: the carried colour would only lag), and new
    content entering at the right edge (colour guessed from its neighbours) takes the colorizer's outright."""
    from exemplar.video.flow_propagation import FlowPropagator, apply_model, colour_agreement

    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 100, (64, 160)).astype(np.float32), (0, 0), 2.0)
    texture = 100 * (texture - texture.min()) / (texture.max() - texture.min())
    first, later = np.float32([10, 20]), np.float32([-20, 5])
    propagator = FlowPropagator(keyframe_interval=4, keep=0.25, new_content=1.0)
    predicted, finished = [], []

    def colorizer(t):
        predicted.append(t)
        return np.broadcast_to(first if t == 0 else later, (64, 96, 2)).copy()

    for t in range(5):  # content moves 2 px left per frame: 2 new columns at the right each frame
        finished += [(t, propagator.push(texture[:, 2 * t : 2 * t + 96], lambda t=t: colorizer(t), payload=t))]
    assert predicted == [0, 4]  # the colorizer runs on keyframes only
    assert [[(kind, p) for _, kind, p, _ in out] for _, out in finished] == [
        [("key", 0)], [], [], [], [("carried", 1), ("carried", 2), ("carried", 3), ("key", 4)]]
    frames = {p: ab for _, out in finished for ab, _, p, _ in out}
    kept = 0.25 * float(colour_agreement(first[None, None], later[None, None])[0, 0])  # 25% where they agree
    key = kept * first + (1 - kept) * later
    np.testing.assert_allclose(frames[4][16:48, 20:60].reshape(-1, 2).mean(axis=0), key, atol=1.0)
    np.testing.assert_allclose(frames[4][8:56, -3:].reshape(-1, 2).mean(axis=0), later, atol=1.0)  # guess replaced
    for t in (1, 2, 3):  # a quarter of the way more towards the next keyframe's colour each frame
        np.testing.assert_allclose(frames[t][16:48, 20:60].reshape(-1, 2).mean(axis=0),
                                   first + t / 4 * (key - first), atol=1.0)
    assert propagator.flush() == []
    state = propagator.state()  # the colour model of frame 4, which gives back its colour
    l4 = texture[:, 8:104]
    np.testing.assert_allclose(apply_model(state["prev_model"], l4)[4:-4, 4:-4], frames[4][4:-4, 4:-4], atol=1.5)


def test_keyframe_interval_is_bounded_because_frames_between_are_held(clip, reference, tmp_path):
    result = _run("video", clip, "-r", reference, "--keyframe-interval", 61, "-o", tmp_path / "out.mp4")
    assert result.exit_code == 2 and "61" in result.output and not (tmp_path / "out.mp4").exists()
    from exemplar.pipeline.colorizer import Colorizer
    from exemplar.core.errors import ExemplarError
    from exemplar.video.video_colorizer import VideoColorizer

    with pytest.raises(ExemplarError, match="keyframe interval 0"):
        VideoColorizer(Colorizer(method="match", size=64), keyframe_interval=0)
