"""Reference search: the cached index in the folder, its refresh, and picking similar images."""

import os
import warnings

import cv2
import numpy as np
import pytest

from exemplar.core.errors import ExemplarWarning
from exemplar.core.errors import ExemplarError
from exemplar.pipeline.reference_index import INDEX_NAME, ReferenceIndex


def _stripes(seed, height=64, width=64):
    """Horizontal colour stripes (a family of look-alikes: only the colours and phase differ)."""
    rng = np.random.default_rng(seed)
    y = np.arange(height, dtype=np.float32)[:, None, None]
    wave = 0.5 + 0.4 * np.sin(y / 3.0 + rng.uniform(0, 6))
    rgb = wave * rng.uniform(0.4, 1.0, 3) + rng.normal(0, 0.02, (height, width, 3))
    return np.clip(rgb, 0, 1).astype(np.float32)


def _blobs(seed, height=64, width=64):
    """A smooth random field with a few discs (a second, different-looking family)."""
    rng = np.random.default_rng(seed + 100)
    rgb = cv2.GaussianBlur(rng.uniform(0, 1, (height, width, 3)).astype(np.float32), (0, 0), 6)
    rgb = (rgb - rgb.min()) / (rgb.max() - rgb.min())
    for _ in range(4):
        cv2.circle(rgb, tuple(int(v) for v in rng.integers(8, 56, 2)), int(rng.integers(5, 12)), rng.uniform(0, 1, 3).tolist(), -1)
    return rgb


def _write(path, rgb):
    assert cv2.imwrite(str(path), np.round(np.clip(rgb, 0, 1)[..., ::-1] * 255).astype(np.uint8))
    return path


class CountingEncoder:
    """Wraps the real encoder and counts the images it embeds (to see what the cache saves)."""

    def __init__(self, encoder):
        self.encoder = encoder
        self.images = 0

    def predict_on_batch(self, x):
        self.images += len(x)
        return self.encoder.predict_on_batch(x)


@pytest.fixture(scope="module")
def real_encoder():
    from exemplar.model.encoder import EfficientNetLite0

    return EfficientNetLite0(weights="imagenet")


@pytest.fixture
def encoder(real_encoder):
    return CountingEncoder(real_encoder)


@pytest.fixture
def folder(tmp_path):
    refs = tmp_path / "refs"
    (refs / "sub").mkdir(parents=True)
    for i in range(2):
        _write(refs / f"stripes{i}.png", _stripes(i))
        _write(refs / "sub" / f"blobs{i}.jpg", _blobs(i))
    (refs / "notes.txt").write_text("not an image")
    return refs


def test_index_is_created_then_reused_without_embedding(folder, encoder):
    index = ReferenceIndex(folder, encoder=encoder)
    assert index.changes == {"added": 4, "updated": 0, "removed": 0, "kept": 0}
    assert encoder.images == 4
    assert (folder / INDEX_NAME).is_file()
    assert index.names == ["stripes0.png", "stripes1.png", "sub/blobs0.jpg", "sub/blobs1.jpg"]
    np.testing.assert_allclose(np.linalg.norm(index.embeddings, axis=1), 1.0, atol=1e-5)

    written = (folder / INDEX_NAME).stat().st_mtime_ns
    again = ReferenceIndex(folder)  # no encoder given: none is loaded for a fully cached folder
    assert again.changes == {"added": 0, "updated": 0, "removed": 0, "kept": 4}
    assert again._encoder is None
    assert (folder / INDEX_NAME).stat().st_mtime_ns == written  # nothing changed, nothing rewritten
    np.testing.assert_array_equal(again.embeddings, index.embeddings)


def test_refresh_embeds_only_new_and_changed_files(folder, encoder):
    first = ReferenceIndex(folder, encoder=encoder)
    _write(folder / "stripes0.png", _stripes(7))  # changed content
    stat = (folder / "stripes0.png").stat()
    os.utime(folder / "stripes0.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    _write(folder / "stripes9.png", _stripes(9))  # new
    (folder / "sub" / "blobs1.jpg").unlink()  # removed
    encoder.images = 0
    index = ReferenceIndex(folder, encoder=encoder)
    assert index.changes == {"added": 1, "updated": 1, "removed": 1, "kept": 2}
    assert encoder.images == 2
    assert index.names == ["stripes0.png", "stripes1.png", "stripes9.png", "sub/blobs0.jpg"]
    kept = index.names.index("sub/blobs0.jpg")
    np.testing.assert_array_equal(index.embeddings[kept], first.embeddings[first.names.index("sub/blobs0.jpg")])
    assert not np.allclose(index.embeddings[0], first.embeddings[0])  # the changed file was re-embedded


def test_search_prefers_look_alikes_and_never_returns_the_target(folder, encoder):
    index = ReferenceIndex(folder, encoder=encoder)
    target = _write(folder.parent / "target.png", _stripes(5).mean(axis=2))  # grey stripes
    matches = index.search(target, top_k=4)
    assert {m.path.name for m in matches[:2]} == {"stripes0.png", "stripes1.png"}
    assert [m.similarity for m in matches] == sorted((m.similarity for m in matches), reverse=True)
    assert all(-1.0 <= m.similarity <= 1.0 + 1e-5 for m in matches)

    own = index.search(folder / "stripes0.png", top_k=2)
    assert folder / "stripes0.png" not in [m.path for m in own]
    assert own[0].path.name == "stripes1.png"
    link = folder.parent / "link.png"
    link.symlink_to(folder / "stripes1.png")
    assert index.search(link, top_k=1)[0].path.name == "stripes0.png"  # a link to a reference is that reference
    with pytest.raises(ExemplarError, match="at least 1"):
        index.search(target, top_k=0)


def test_grey_and_broken_files_are_skipped_once(folder, encoder, photo_grey):
    _write(folder / "grey.png", photo_grey)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.warns(ExemplarWarning) as caught:
        index = ReferenceIndex(folder, encoder=encoder)
    messages = " ".join(str(w.message) for w in caught)
    assert "grey.png: it has no colour" in messages and "broken.jpg" in messages
    assert len(index.paths) == 4 and len(index.names) == 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second scan remembers them: no warning, no re-read
        ReferenceIndex(folder, encoder=encoder)


def test_unwritable_folder_keeps_the_index_in_memory(folder, encoder, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("exemplar.pipeline.reference_index.tempfile.NamedTemporaryFile", refuse)
    with pytest.warns(ExemplarWarning, match="cannot write the reference index"):
        index = ReferenceIndex(folder, encoder=encoder)
    assert not (folder / INDEX_NAME).exists()
    assert len(index.search(folder / "stripes0.png", top_k=1)) == 1


def test_corrupt_index_is_rebuilt(folder, encoder):
    (folder / INDEX_NAME).write_bytes(b"garbage")
    with pytest.warns(ExemplarWarning, match="unreadable index"):
        index = ReferenceIndex(folder, encoder=encoder)
    assert index.changes["added"] == 4
    assert ReferenceIndex(folder).changes["kept"] == 4  # and it was written back


def test_bad_folders_are_refused(tmp_path, encoder):
    with pytest.raises(ExemplarError, match="not found"):
        ReferenceIndex(tmp_path / "nowhere", encoder=encoder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExemplarError, match="no usable colour reference"):
        ReferenceIndex(tmp_path / "empty", encoder=encoder).search(np.zeros((32, 32), np.float32))


def test_small_batches_report_progress_and_embed_the_same(folder, encoder, monkeypatch):
    whole = ReferenceIndex(folder, encoder=encoder)
    (folder / INDEX_NAME).unlink()
    monkeypatch.setattr("exemplar.pipeline.reference_index.BATCH", 3)
    calls = []
    batched = ReferenceIndex(folder, encoder=encoder, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 4), (4, 4)]
    np.testing.assert_allclose(batched.embeddings, whole.embeddings, atol=1e-4)


def test_not_persisted_index_neither_reads_nor_writes_the_folder(folder, encoder):
    saved = ReferenceIndex(folder, encoder=encoder)  # writes the index file
    (folder / INDEX_NAME).write_bytes(b"an index file the in-memory index must not read")
    before = sorted(p.name for p in folder.iterdir())
    encoder.images = 0
    index = ReferenceIndex(folder, encoder=encoder, persist=False)
    assert encoder.images == 4 and index.changes["added"] == 4  # all embedded afresh
    assert sorted(p.name for p in folder.iterdir()) == before  # no file written or replaced
    assert (folder / INDEX_NAME).read_bytes() == b"an index file the in-memory index must not read"
    np.testing.assert_allclose(index.embeddings, saved.embeddings, atol=1e-5)
