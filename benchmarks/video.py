"""Video: flicker and PSNR against per-frame colorization, speed, and memory over a long film.

Test clips with known truth are made from real photos (``../shared/data/val/bsds``, 481x321,
enlarged 1.6x so a 640x360 window can move over them), 48 frames at 24 fps each:
- ``pan``: a slow pan (1.7 px/frame across, 0.5 down) over one photo;
- ``zoom``: a slow zoom into another (1.0 -> 1.25x);
- ``cut``: a pan over one photo, a cut at frame 24, a pan over another;
- ``slide``: an elliptical piece of one photo sliding (6 px/frame) over another (still).
The colorizer sees only the truth's luminance; its references are the clip's photos mirrored
and cropped to 85% (the ``self`` protocol of ``benchmarks/quality.py``).

Per clip, for per-frame colorization (the colorizer on every frame, nothing carried) and for
``exemplar video`` (keyframes + optical flow):
- flicker: mean |output_t warped to t+1 - output_t+1| of the Lab chroma (ab; also printed for
  RGB 0..255), the warp following the truth frames' optical flow (Farneback at full size: not the
  DIS flow the method uses), only where that flow passes a forward-backward check. The truth
  frames' own flicker is printed too: it is the measure's noise on that clip (8-bit rounding and
  the warp's interpolation of fine colour texture), which per-frame colorization can be below;
- PSNR (RGB) against the truth frames, mean over frames;
- the steady-colour floor: the flicker of frames that keep one colour (the video output's mean
  ab over the clip, never changing) on each frame's own L, written as 8-bit RGB like any output.
  It is not 0: rounding to 8 bits and the flicker's own RGB interpolation turn L's changes (the
  pan's sub-pixel resampling) into ab differences, more the more saturated the colour.
Speed: a 640x360 grey MP4 (``--speed-frames`` frames of the pan) colorized end to end (decode,
colorize, encode to MP4), model load excluded. Memory: RSS sampled while a ``--memory-minutes``
long 640x360 film (the clips looped) is colorized.

    python benchmarks/video.py [--method net] [--size 256] [--speed-frames 240] [--memory-minutes 0]
"""

import argparse
import pathlib
import resource
import sys
import tempfile
import time

import cv2
import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing the package

WIDTH, HEIGHT, FRAMES, FPS = 640, 360, 48, 24
PHOTOS = {"pan": ["106024"], "zoom": ["108070"], "cut": ["103070", "105025"], "slide": ["108082", "109053"]}


def load(data, name):
    rgb = cv2.imread(str(data / "val" / "bsds" / f"{name}.jpg"))[..., ::-1]
    return cv2.resize(rgb, None, fx=1.6, fy=1.6, interpolation=cv2.INTER_CUBIC)  # (514, 770, 3) uint8


def window(photo, x, y, scale=1.0):
    """The 640x360 view of ``photo`` at top-left (x, y), zoomed in by ``scale``."""
    m = np.float32([[1 / scale, 0, x], [0, 1 / scale, y]])
    return cv2.warpAffine(photo, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)


def make_clip(kind, photos):
    """-> list of FRAMES (360, 640, 3) uint8 truth frames."""
    a = photos[0]
    if kind == "pan":
        return [window(a, 1.7 * t, 0.5 * t) for t in range(FRAMES)]
    if kind == "zoom":
        frames = []
        for t in range(FRAMES):
            s = 1.0 + 0.25 * t / (FRAMES - 1)
            cx, cy = a.shape[1] / 2, a.shape[0] / 2
            frames.append(window(a, cx - WIDTH / 2 / s, cy - HEIGHT / 2 / s, s))
        return frames
    if kind == "cut":
        half = FRAMES // 2
        return [window(a, 1.7 * t, 0.5 * t) for t in range(half)] + \
               [window(photos[1], 100 - 1.7 * t, 20 + 0.5 * t) for t in range(FRAMES - half)]
    if kind == "slide":
        background, piece = window(a, 40, 40), photos[1][100:250, 200:420]  # piece (150, 220, 3)
        mask = np.zeros(piece.shape[:2], np.uint8)
        cv2.ellipse(mask, (110, 75), (105, 70), 0, 0, 360, 1, -1)
        frames = []
        for t in range(FRAMES):
            frame, x = background.copy(), 20 + 6 * t
            region = frame[110:260, x : x + 220]
            region[mask > 0] = piece[mask > 0]
            frames.append(frame)
        return frames
    raise ValueError(kind)


def grey(rgb):
    """Truth frame -> the grey frame the colorizer gets: (H, W, 3) uint8 with R = G = B = its L as grey."""
    from exemplar.color import l_to_grey_rgb, rgb_to_l

    level = np.round(l_to_grey_rgb(rgb_to_l(rgb.astype(np.float32) / 255)) * 255).astype(np.uint8)
    return np.repeat(level[..., None], 3, axis=2)


def write_folder(frames, folder):
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:04d}.png"), frame[..., ::-1])
    return folder


def read_folder(folder):
    return [cv2.imread(str(p))[..., ::-1] for p in sorted(folder.glob("*.png"))]


def truth_flows(truth):
    """For t -> t+1: (backward flow t+1 -> t, consistent mask), Farneback on the truth's grey."""
    greys = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in truth]
    height, width = greys[0].shape
    gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    flows = []
    for a, b in zip(greys, greys[1:]):
        back = cv2.calcOpticalFlowFarneback(b, a, None, 0.5, 4, 21, 3, 5, 1.1, 0)
        fwd = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 21, 3, 5, 1.1, 0)
        mx, my = gx + back[..., 0], gy + back[..., 1]
        fwd_there = cv2.remap(fwd, mx, my, cv2.INTER_LINEAR)
        err = np.sum((back + fwd_there) ** 2, axis=2)
        ok = (err <= 0.01 * (np.sum(back**2, axis=2) + np.sum(fwd_there**2, axis=2)) + 0.5)
        ok &= (mx >= 0) & (mx <= width - 1) & (my >= 0) & (my <= height - 1)
        flows.append((mx, my, ok))
    return flows


def flicker(frames, flows, skip=()):
    """Mean warping error between consecutive frames on the consistent pixels -> (RGB 0..255, ab).

    ab: the Lab chroma alone. Every method keeps the input's L, so L's own warping error (flow
    and interpolation error, the same for all) is left out there. ``skip``: pairs t (t -> t+1)
    across a shot cut, where nothing should carry over.
    """
    from exemplar.color import rgb_to_lab

    rgb_errors, ab_errors = [], []
    for t, ((mx, my, ok), a, b) in enumerate(zip(flows, frames, frames[1:])):
        if t in skip:
            continue
        warped = cv2.remap(a.astype(np.float32), mx, my, cv2.INTER_LINEAR)
        rgb_errors.append(np.abs(warped - b.astype(np.float32)).mean(axis=2)[ok].mean())
        ab_a, ab_b = (rgb_to_lab(np.clip(x, 0, 255) / 255)[..., 1:] for x in (warped, b.astype(np.float32)))
        ab_errors.append(np.abs(ab_a - ab_b).mean(axis=2)[ok].mean())
    return float(np.mean(rgb_errors)), float(np.mean(ab_errors))


def steady_colour(truth, output):
    """The grey input's frames with one constant colour (``output``'s mean ab over the clip) on their L, 8-bit."""
    from exemplar.color import lab_to_rgb_keep_l, rgb_to_lab
    from exemplar.image_io import rgb_to_uint

    mean_ab = np.mean([rgb_to_lab(f.astype(np.float32) / 255)[..., 1:].reshape(-1, 2).mean(axis=0) for f in output],
                      axis=0).astype(np.float32)
    levels = [rgb_to_lab(grey(f).astype(np.float32) / 255)[..., 0] for f in truth]  # the L every output keeps
    return [rgb_to_uint(lab_to_rgb_keep_l(l, np.broadcast_to(mean_ab, l.shape + (2,)).copy()), 8) for l in levels]


def psnr(frames, truth):
    from exemplar.metrics import psnr_rgb

    return float(np.mean([psnr_rgb(f, t) for f, t in zip(frames, truth)]))


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--method", default="net")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--clips", default="pan,zoom,cut,slide")
    parser.add_argument("--speed-frames", type=int, default=240)
    parser.add_argument("--memory-minutes", type=float, default=0.0)
    args = parser.parse_args()

    from exemplar.colorizer import Colorizer
    from exemplar.evaluation import self_reference
    from exemplar.video.video_colorizer import VideoColorizer

    started = time.perf_counter()
    colorizer = Colorizer(method=args.method, size=args.size)
    print(f"model load {time.perf_counter() - started:.1f} s ({args.method}, size {args.size})", flush=True)
    per_frame = VideoColorizer(colorizer, keyframe_interval=1, keep=0.0)
    video = VideoColorizer(colorizer)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="video_bench_"))
    rows = []
    for kind in args.clips.split(","):
        photos = [load(args.data, name) for name in PHOTOS[kind]]
        truth = make_clip(kind, photos)
        refs = [self_reference(p.astype(np.float32) / 255) for p in photos]
        source = write_folder([grey(f) for f in truth], tmp / kind / "grey")
        flows = truth_flows(truth)
        skip = (FRAMES // 2 - 1,) if kind == "cut" else ()
        row = {"clip": kind, "truth flicker": flicker(truth, flows, skip)}
        for name, job in (("per-frame", per_frame), ("video", video)):
            result = job.run(source, tmp / kind / name, refs, fps=FPS)
            out = read_folder(tmp / kind / name)
            row[name] = (*flicker(out, flows, skip), psnr(out, truth), result.keyframes, result.cuts, result.seconds)
        row["steady floor"] = flicker(steady_colour(truth, out), flows, skip)
        rows.append(row)
        print(kind, row, flush=True)

    # The README's table: flicker is the ab warping error; "truth" is the truth frames' own, the
    # measure's noise on that clip (8-bit rounding and interpolation of fine colour texture).
    print("\n| clip | flicker per-frame | flicker video | ratio | truth's own | steady floor "
          "| PSNR per-frame | PSNR video | colorizer runs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        pf, vd, tr = r["per-frame"], r["video"], r["truth flicker"]
        print(f"| {r['clip']} | {pf[1]:.2f} | {vd[1]:.2f} | {vd[1] / pf[1]:.2f} | {tr[1]:.2f} | {r['steady floor'][1]:.2f} "
              f"| {pf[2]:.2f} | {vd[2]:.2f} | {vd[3]}/{FRAMES} |")
    mean = lambda key, i: np.mean([r[key][i] for r in rows])  # noqa: E731
    print(f"| mean | {mean('per-frame', 1):.2f} | {mean('video', 1):.2f} | {mean('video', 1) / mean('per-frame', 1):.2f} "
          f"| {mean('truth flicker', 1):.2f} | {mean('steady floor', 1):.2f} "
          f"| {mean('per-frame', 2):.2f} | {mean('video', 2):.2f} | |")
    print("flicker in RGB 0..255, per-frame / video / truth:", ", ".join(
        f"{r['clip']} {r['per-frame'][0]:.2f} / {r['video'][0]:.2f} / {r['truth flicker'][0]:.2f}" for r in rows))
    print("seconds per clip, per-frame / video:", ", ".join(
        f"{r['clip']} {r['per-frame'][5]:.0f} / {r['video'][5]:.0f}" for r in rows), flush=True)

    if args.speed_frames:
        speed(tmp, args, video, refs=[self_reference(load(args.data, "106024").astype(np.float32) / 255)])
    if args.memory_minutes:
        memory(tmp, args, video, refs=[self_reference(load(args.data, "106024").astype(np.float32) / 255)])


def write_mp4(path, frames_iter, count):
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "18", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for _, frame in zip(range(count), frames_iter):
            out.mux(stream.encode(__import__("av").VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))


def looped_pan(data):
    """Endless grey frames: the pan clip back and forth."""
    frames = [grey(f) for f in make_clip("pan", [load(data, "106024")])]
    while True:
        yield from frames
        yield from frames[::-1]


def speed(tmp, args, job, refs):
    source = tmp / "speed.mp4"
    write_mp4(source, looped_pan(args.data), args.speed_frames)
    result = job.run(source, tmp / "speed_out.mp4", refs)
    print(f"\nspeed: {result.frames} frames 640x360 MP4 -> MP4 in {result.seconds:.1f} s = "
          f"{result.frames / result.seconds:.2f} frames/s end to end (colorizer on {result.keyframes} frames)")


def memory(tmp, args, job, refs):
    count = int(args.memory_minutes * 60 * FPS)
    source = tmp / "long.mp4"
    write_mp4(source, looped_pan(args.data), count)
    samples = []

    def sample(done, total):
        if done % max(1, total // 20) == 0 or done == 1:
            samples.append((done, rss_mb()))

    result = job.run(source, tmp / "long_out.mp4", refs, on_progress=sample)
    print(f"\nmemory: {result.frames} frames ({args.memory_minutes:g} min at {FPS} fps) in {result.seconds:.0f} s "
          f"({result.frames / result.seconds:.2f} frames/s); RSS MB at frame:")
    print("  " + ", ".join(f"{done}: {mb:.0f}" for done, mb in samples))
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
