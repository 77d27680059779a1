"""``Engine``: what the worker thread does with a job: the CLI's colorize, with files from the workspace.

It owns the one :class:`exemplar.pipeline.colorizer.Colorizer` of the server (models load once, in
:meth:`load`) and, with ``--reference-dir``, a :class:`exemplar.pipeline.reference_index.ReferenceIndex` of
that folder, searched by similarity exactly as ``exemplar colorize --reference-dir`` does. The
result is written as PNG at the target's full size, keeping 16-bit samples and alpha as the CLI
does for PNG output (PNG is lossless, so the download's L is the input's, rounding aside). A film
goes through ``exemplar video``'s :class:`VideoColorizer` with the same models, to an MP4; given two
or more references, each of its shots is coloured from the one most like it (as ``exemplar video
--reference-dir`` chooses from a folder), the choice per shot in the job's notes.

A photo is the one-file job every front end runs (:func:`exemplar.pipeline.file_job.colorize_file`), into
the job's folder. Colour hints (``spec["hints"]``: ``(x, y, colour)`` with x, y pixels of the target
or "42%" strings, checked by the app) go to :meth:`Colorizer.run` as they are; :meth:`load` tells the page
whether the loaded model has the hint input (:attr:`hints_note` says why not, in words).
"""

import re
import warnings

from exemplar.core.errors import ExemplarError, ImageError
from exemplar.serve.workspace import shrink

LIBRARY_THUMB = 160  # long side of the reference-folder thumbnails on the page
RESULT_PREVIEW = 1280  # long side of the result shown in the page's before/after view


class Engine:
    """Colorize jobs from a :class:`exemplar.serve.workspace.Workspace`; see :class:`JobQueue` for the threading."""

    def __init__(self, workspace, method="net", size=256, weights=None, follow_reference=False, reference_dir=None):
        self.workspace = workspace
        self.options = {"method": method, "size": size, "weights": weights, "follow_reference": follow_reference}
        self.reference_dir = reference_dir
        self.colorizer = None
        self.index = None
        self.library = []  # [(label, path)] of the reference folder's usable photos, in index order
        self.hints_note = "the models are loading"  # None once loaded with a model that takes hints
        self.vividness = None  # the colorizer's default vividness (net), None for match (no such setting)

    @property
    def hints_available(self):
        return self.hints_note is None

    def load(self):
        from exemplar.pipeline.colorizer import Colorizer

        self.colorizer = Colorizer(max_pixels=self.workspace.max_pixels, **self.options)
        if self.options["method"] != "net":
            self.hints_note = ("colour hints need the net method; this server runs match "
                               "(start it without --method match)")
        elif not self.colorizer.method.net.hints:
            self.hints_note = ("this model was trained without the colour hint input, so it cannot take "
                               "hints; start the server with --weights of a model trained with hints")
        else:
            self.hints_note = None
        if self.options["method"] == "net":
            from exemplar.methods.net_colorizer import DEFAULT_VIVIDNESS

            self.vividness = round(DEFAULT_VIVIDNESS, 4)  # 0.62; the page's slider starts here
        if self.reference_dir is not None:
            self._load_library()

    def _load_library(self):
        from exemplar.core.image_io import read_image, write_image
        from exemplar.pipeline.reference_index import ReferenceIndex

        with warnings.catch_warnings():  # unusable files are simply not offered
            warnings.simplefilter("ignore")
            self.index = ReferenceIndex(self.reference_dir, encoder=self.colorizer.method.encoder,
                                        max_pixels=self.workspace.max_pixels)
        for number, path in enumerate(self.index.paths):
            image = read_image(path, max_pixels=self.workspace.max_pixels)
            write_image(self.workspace.root / "library" / f"{number}.png", shrink(image.rgb, LIBRARY_THUMB))
            self.library.append((path.relative_to(self.index.directory).as_posix(), path))

    # ------------------------------------------------------------------ one job

    def run(self, job):
        labels = {}  # workspace path -> the user's file name, so messages never show our temp paths
        try:
            self._run(job, labels)
        except ExemplarError as error:
            text = f"{labels.get(error.path, 'photo')}: {error.problem}" if isinstance(error, ImageError) else str(error)
            raise ExemplarError(_user_names(text, labels)) from error

    def _run(self, job, labels):
        from exemplar.pipeline.file_job import colorize_file
        from exemplar.core.image_io import write_image

        spec, workspace = job.spec, self.workspace
        target = workspace.upload(spec["target"], "video" if spec.get("video") else "target")
        labels[str(target.path)] = target.name
        references = []
        for upload_id in spec.get("references", []):
            upload = workspace.upload(upload_id, "reference")
            labels[str(upload.path)] = upload.name
            references.append(upload.path)
        for number in spec.get("library", []):
            label, path = self.library[number]
            labels[str(path)] = label
            references.append(path)
        if spec.get("search"):
            if self.index is None:
                raise ExemplarError("this server has no reference folder to search (start it with --reference-dir)")
            job.stage = "finding references"
            for match in self.index.search(target.path, top_k=spec.get("top_k", 3)):
                label = match.path.relative_to(self.index.directory).as_posix()
                labels[str(match.path)] = label
                references.append(match.path)
                job.notes.append(f"reference from the folder: {label} (similarity {match.similarity:.3f})")

        if spec.get("video"):
            return self._run_video(job, target, references, labels)

        job.stage = "colorizing"
        folder = workspace.job_folder(job.id)
        done = colorize_file(self.colorizer, target.path, folder / "result.png", references,
                             strength=spec.get("strength", 1.0), palette=spec.get("palette"),
                             vividness=spec.get("vividness"), hints=spec.get("hints", []))
        job.notes.extend(_user_names(text, labels) for text in done.warnings)

        job.stage = "saving"
        result = done.colorized
        small_alpha = None if result.alpha is None else shrink(result.alpha, RESULT_PREVIEW)
        write_image(folder / "preview.png", shrink(result.rgb, RESULT_PREVIEW), alpha=small_alpha)
        height, width = result.rgb.shape[:2]
        job.result = {"width": width, "height": height, "bit_depth": result.bit_depth,
                      "alpha": result.alpha is not None, "download": f"{_stem(target.name)}_colorized.png"}

    def _run_video(self, job, target, references, labels):
        """A film through ``exemplar video``'s VideoColorizer (same models), written as H.264 MP4.

        With two or more references each shot is coloured from the one most like it, as
        ``exemplar video --reference-dir`` chooses (:func:`exemplar.video.shot_references.plan_shots`
        over the list); the choice per shot goes to the job's notes as the CLI prints it.
        """
        from exemplar.video.video_colorizer import VideoColorizer, open_frames

        def progress(done, total):
            job.stage = f"frame {done} of {total}"

        reader = open_frames(target.path)
        reference_at, shots = (), None
        if len(references) >= 2:
            reference_at, shots = self._plan_shots(job, reader, references, labels)
            references = []
        job.stage = "colorizing the film"
        output = self.workspace.job_folder(job.id) / "result.mp4"
        VideoColorizer(self.colorizer).run(reader, output, references, palette=job.spec.get("palette"),
                                           reference_at=reference_at, shots=shots,
                                           strength=job.spec.get("strength", 1.0), vividness=job.spec.get("vividness"),
                                           on_progress=progress)
        job.result = {"width": target.info["width"], "height": target.info["height"], "video": True,
                      "frames": target.info["frames"], "download": f"{_stem(target.name)}_colorized.mp4"}

    def _plan_shots(self, job, reader, references, labels):
        """Find the film's shots and each one's reference among ``references``; note the choice.
        -> (reference_at pairs for the whole film, shot starts)."""
        from exemplar.video.shot_references import plan_shots

        def scanning(done, total):
            job.stage = f"finding shots: frame {done} of {total}"

        job.stage = "finding shots"
        plan = plan_shots(reader, references, top_k=1, encoder=self.colorizer.method.encoder,
                          max_pixels=self.workspace.max_pixels, on_progress=scanning)
        job.notes.append(f"{len(plan.shots)} shots; each coloured from the most similar of "
                         f"{plan.candidates} references:")
        job.notes.extend(_user_names(line, labels).strip() for line in plan.lines())
        return plan.reference_at(), plan.starts

    def forget(self, job):
        self.workspace.drop_job_folder(job.id)


def _stem(name):
    """A file name's stem made safe for a download name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit(".", 1)[0]).strip("._") or "photo"


def _user_names(text, labels):
    """``text`` with every workspace path in ``labels`` replaced by the user's file name: messages
    and notes never show the server's temporary paths."""
    for path, name in labels.items():
        text = text.replace(path, name)
    return text
