"""Check the official Places365 archives in a manual dir before tensorflow-datasets reads them.

Preparing ``places365_small`` reads 31.4 GB once: TFDS first hashes every archive (sha256), then
walks each tar as one stream and writes TFRecords. A wrong file is otherwise found only at the end
of the hashing (an interrupted download) or deep into the walk (the wrong variant). This check
costs a directory listing and a few tar headers, and names every problem at once:

- a missing archive;
- a size other than the official archive's (TFDS's own record of it, ``url_infos``): an
  interrupted or still-running download;
- an archive whose first member is not in the folder the builder expects (e.g. the 'large images'
  variant, ``data_large/...``, saved under the small one's name), or a label archive without the
  three lists.

Why preparation runs in one process, even with a Beam runner: ``places365_small`` is a
``GeneratorBasedBuilder`` whose ``_generate_examples`` is a Python generator walking each tar
archive in order (``dl_manager.iter_archive``); TFDS builds such splits in-process and uses
``DownloadConfig(beam_runner=...)`` only for splits that are Beam ``PTransform`` s. So no runner
(Beam, Ray or other) can split it: the limit is one sequential pass over each archive.
"""

import tarfile
from pathlib import Path

from exemplar.core.errors import ExemplarError

# Archive -> the folder its members start with (the builder's ``path_prefix``), or the label
# files it must hold. Names as the Places2 site and tensorflow-datasets spell them.
LAYOUT = {
    "train_256_places365standard.tar": "data_256/",
    "val_256.tar": "val_256/",
    "test_256.tar": "test_256/",
    "filelist_places365-standard.tar": ("places365_train_standard.txt", "places365_val.txt", "places365_test.txt"),
}


def expected_sizes():
    """{archive name: size in bytes} of the official archives, from tensorflow-datasets' checksums."""
    import tensorflow_datasets as tfds

    url_infos = tfds.builder_cls("places365_small").url_infos or {}
    return {(info.filename or url.rsplit("/", 1)[-1]): int(info.size) for url, info in url_infos.items()}


def check_archives(manual_dir, sizes=None):
    """Check the four archives in ``manual_dir`` -> {name: size in bytes}; raise ExemplarError listing every problem.

    sizes: {name: expected size}; None: tensorflow-datasets' record of the official archives.
    """
    manual_dir = Path(manual_dir)
    missing = [name for name in LAYOUT if not (manual_dir / name).is_file()]
    if missing:
        raise ExemplarError(f"{manual_dir}: missing Places365 archive(s) {', '.join(missing)}; see data_prep/README.md")
    sizes = expected_sizes() if sizes is None else sizes
    found, problems = {}, []
    for name, layout in LAYOUT.items():
        path = manual_dir / name
        found[name] = size = path.stat().st_size
        if name in sizes and size != sizes[name]:
            problems.append(f"{name} is {size:,} bytes, the official archive {sizes[name]:,} "
                            f"({'an interrupted download?' if size < sizes[name] else 'another file?'})")
            continue
        try:
            problem = _layout_problem(path, layout)
        except (tarfile.TarError, OSError) as error:
            problem = f"is not a readable tar archive ({error})"
        if problem:
            problems.append(f"{name} {problem}")
    if problems:
        raise ExemplarError(f"{manual_dir}: " + "; ".join(problems))
    return found


def _layout_problem(path, layout):
    """None if the tar at ``path`` looks as the builder expects, else what is wrong (reads headers only)."""
    with tarfile.open(path) as tar:
        if isinstance(layout, str):  # a photo archive: its first file must be under the prefix
            first = next((m for m in iter(tar.next, None) if m.isfile()), None)
            if first is None:
                return "holds no files"
            name = first.name.lstrip("./")
            return None if name.startswith(layout) else f"starts with {first.name}, not {layout}... (another variant?)"
        names = {Path(m.name).name for m in tar.getmembers() if m.isfile()}  # the small label archive
        absent = [n for n in layout if n not in names]
        return f"lacks {', '.join(absent)}" if absent else None
