"""``exemplar video``: colorize a film (video file or folder of numbered frames), stable from frame to frame."""

import time

import click

from exemplar.cli.options import (colorizer_options, echoed_warnings, hint_options, load_hints, load_palette,
                                       make_colorizer, user_errors)
from exemplar.video import MAX_KEYFRAME_INTERVAL


@click.command()
@click.argument("source", metavar="INPUT", type=click.Path())
@click.option("-r", "--reference", "references", multiple=True, metavar="IMAGE",
              help="Colour reference photo for the film from its start; repeat to draw colours from several.")
@click.option("--reference-at", "reference_at", multiple=True, metavar="WHEN=IMAGE",
              help="Switch to IMAGE from WHEN on: a time (00:01:30, 1:30, 90s) or a frame number (2250); "
                   "repeat for more switches, or several IMAGEs at one WHEN.")
@click.option("--reference-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Find the film's shots first and colour each from the photos in DIR that look most like it "
                   "(embeddings are cached in DIR/.exemplar_index.npz); -r references are added to every shot's, "
                   "--reference-at overrides the choice until the end of that shot.")
@click.option("--top-k", default=1, show_default=True, type=click.IntRange(1, 32),
              help="How many references --reference-dir picks for each shot.")
@click.option("--palette", metavar="COLOURS",
              help="Colour from a palette instead of references: '#2a6f97:2,#f4a261' or a built-in name (sepia, ...).")
@click.option("--palette-from", type=click.Path(dir_okay=False), metavar="IMAGE",
              help="Colour from the dominant colours of IMAGE instead of references.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Output video (.mp4 .mkv .mov: H.264; .avi: MPEG-4), or a path without extension for a "
                   "folder of PNG frames.")
@click.option("--fps", type=click.FloatRange(min=0.01), default=None,
              help="Frame rate of a folder of frames given as INPUT  [default: 25]; a video keeps its own.")
@click.option("--keyframe-interval", default=8, show_default=True, type=click.IntRange(1, MAX_KEYFRAME_INTERVAL),
              help="Run the colorizer at least every this many frames; colour follows optical flow in between, "
                   "from both sides, so these frames are held in memory (1: every frame).")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists (refused otherwise).")
@click.option("--resume", is_flag=True,
              help="Continue a run of the same job that was stopped part-way, keeping its finished frames.")
@hint_options
@click.option("--hint-at", default="0", show_default=True, metavar="WHEN",
              help="The frame the hints are for: a time (1:30, 90s) or a frame number; from there their points "
                   "are followed from frame to frame to the end of the shot, or until one is hidden.")
@colorizer_options
def video(source, references, reference_at, reference_dir, top_k, palette, palette_from, output, fps,
          keyframe_interval, overwrite, resume, hint, hints_file, hint_at, method, weights, follow_reference, size,
          strength, max_megapixels):
    """Colorize the black-and-white film INPUT (MP4/AVI/MKV/MOV, or a folder of numbered frames).

    OUTPUT keeps INPUT's size, frame count, frame rate and audio track, and every frame's
    luminance; colour is carried along optical flow between keyframes so it does not flicker.
    OUTPUT appears only when complete.
    """
    from fractions import Fraction

    if palette is not None and palette_from is not None:
        raise click.UsageError("give --palette or --palette-from, not both")
    chosen = load_palette(palette, palette_from)
    if chosen is not None and (references or reference_dir):
        raise click.UsageError("give references (-r, --reference-dir) or a palette, not both")
    hints = load_hints(hint, hints_file)
    with user_errors():
        from exemplar.methods.hints import resolve
        from exemplar.video.reference_schedule import parse_reference_at, parse_when
        from exemplar.video.video_colorizer import VideoColorizer, check_video_output, open_frames

        switches = [parse_reference_at(text) for text in reference_at]
        check_video_output(output, overwrite)  # bad input, output and hints are refused before models load
        reader = open_frames(source, Fraction(fps).limit_denominator(1001) if fps else None)
        resolve(hints, reader.width, reader.height)  # each hint inside the frame
        parse_when(hint_at, reader.fps)
    colorizer = make_colorizer(method, size, max_megapixels, weights, follow_reference)
    job = VideoColorizer(colorizer, keyframe_interval=keyframe_interval)
    references, shots = list(references), None
    if reference_dir is not None:
        switches, references, shots = choose_per_shot(colorizer, reader, reference_dir, top_k, max_megapixels,
                                                      references, switches)
    progress = Progress()
    try:
        with user_errors(), echoed_warnings():
            result = job.run(reader, output, references, palette=chosen, reference_at=switches,
                             strength=strength, overwrite=overwrite, resume=resume, on_progress=progress,
                             shots=shots, hints=hints, hint_at=hint_at)
    except KeyboardInterrupt:
        progress.close()
        click.echo("stopped; run the same command with --resume to continue from the last finished segment",
                   err=True)
        raise click.Abort() from None
    progress.close()
    resumed = f", {result.resumed_at} from the earlier run" if result.resumed_at else ""
    audio = f", audio {result.audio}" if result.audio else ""
    click.echo(f"wrote {output}: {result.frames} frames{resumed}, colorizer on {result.keyframes} "
               f"({result.cuts} cuts){audio}, {result.seconds:.1f} s")


def choose_per_shot(colorizer, reader, directory, top_k, max_megapixels, references, switches):
    """Find the film's shots and each one's references in ``directory``; print the choice.
    -> (reference_at pairs for the whole film, [] (the -r references are in them), shot starts)."""
    from exemplar.video.shot_references import plan_shots

    def indexing(done, total):
        click.echo(f"\rindexing {directory}: {done}/{total}", nl=done == total, err=True)

    scanning = Progress(what="frames read for shots")
    with user_errors(), echoed_warnings():
        plan = plan_shots(reader, directory, top_k=top_k, encoder=colorizer.method.encoder,
                          max_pixels=int(max_megapixels * 1e6), on_progress=scanning, on_index_progress=indexing)
        scanning.close()
        schedule = plan.reference_at(references, switches)
    click.echo(f"{len(plan.shots)} shots in {reader.path} ({plan.seconds:.1f} s); references chosen from "
               f"{plan.source} ({plan.candidates} indexed):")
    for line in plan.lines():
        click.echo(line)
    if switches:
        click.echo(f"  --reference-at overrides the choice at {', '.join(when for when, _ in switches)}")
    return schedule, [], plan.starts


class Progress:
    """A one-line progress bar on stderr: frames done, frames/s and time left (redrawn at most 4x a second)."""

    def __init__(self, width=30, what="frames"):
        self.width = width
        self.what = what
        self.started = self.shown = None
        self.first = 0

    def __call__(self, done, total):
        now = time.perf_counter()
        if self.started is None:  # count speed from the first frame of this run (resume skips some)
            self.started, self.first = now, done - 1
        if self.shown is not None and now - self.shown < 0.25 and done < total:
            return
        self.shown = now
        filled = int(self.width * done / max(total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        # The first frame of this run starts the clock: until a later one is done there is no rate
        # (it once read "1000000.0 frames/s"), so speed and time left are left out until then.
        speed = ""
        if done > self.first + 1 and now > self.started:
            rate = (done - self.first - 1) / (now - self.started)
            left = max(total - done, 0) / rate
            speed = f"  {rate:.1f} frames/s  {int(left) // 60}:{int(left) % 60:02d} left"
        click.echo(f"\r[{bar}] {done}/{total} {self.what}{speed} ", nl=False, err=True)

    def close(self):
        if self.shown is not None:
            click.echo("", err=True)
