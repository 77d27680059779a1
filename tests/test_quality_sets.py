"""benchmarks/quality.py's val sets: auto and same-kind per folder, random references, set names."""

import cv2
import numpy as np
import pytest

from exemplar.evaluation import protocols as evaluation
FOLDERS = ("bsds", "scenes", "people", "faces", "animals", "food", "houses", "vehicles", "cars")


@pytest.fixture(scope="module")
def quality(load_benchmark):
    return load_benchmark("quality")


def _stripes(rng):
    y = np.arange(64, dtype=np.float32)[:, None, None]
    wave = (0.5 + 0.4 * np.sin(y / 3.0 + rng.uniform(0, 6))) * rng.uniform(0.4, 1.0, 3)  # (64, 1, 3)
    return np.clip(np.broadcast_to(wave, (64, 64, 3)) + rng.normal(0, 0.02, (64, 64, 3)), 0, 1)


def _blobs(rng):
    rgb = cv2.GaussianBlur(rng.uniform(0, 1, (64, 64, 3)).astype(np.float32), (0, 0), 6)
    rgb = (rgb - rgb.min()) / (rgb.max() - rgb.min())
    for _ in range(4):
        cv2.circle(rgb, tuple(int(v) for v in rng.integers(8, 56, 2)), int(rng.integers(5, 12)),
                   rng.uniform(0, 1, 3).tolist(), -1)
    return rgb


def _write(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.round(np.clip(rgb, 0, 1)[..., ::-1] * 255).astype(np.uint8))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A val tree with every folder; people/ holds two look-alike families (stripes, blobs)."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for folder in FOLDERS:
        sub = root / "val" / folder / ("forest" if folder == "scenes" else "")
        for i in range(2):
            _write(sub / f"{folder}{i}.jpg", _blobs(rng))
    for i in range(3):
        _write(root / "val" / "people" / f"stripes{i}.jpg", _stripes(rng))
    return root


def test_same_kind_reference_is_the_most_similar_other_photo_and_is_cached(quality, data, tmp_path, monkeypatch):
    pairs = quality.same_kind_pairs(data, "people", cache_dir=tmp_path)
    assert [p.target.name for p in pairs] == ["people0.jpg", "people1.jpg", "stripes0.jpg", "stripes1.jpg", "stripes2.jpg"]
    for pair in pairs:
        assert pair.kind == "same-kind-people" and pair.reference != pair.target
        assert pair.reference.parent == pair.target.parent  # the same folder
        assert pair.reference.name[:6] == pair.target.name[:6]  # a look-alike: stripes with stripes, blobs with blobs
    csv_path = next(tmp_path.glob("same_kind_*.csv"))
    assert len(csv_path.read_text().splitlines()) == 1 + 5
    monkeypatch.setattr(quality, "_choose_same_kind", lambda *args: pytest.fail("chose again despite the CSV"))
    assert quality.same_kind_pairs(data, "people", cache_dir=tmp_path) == pairs
    monkeypatch.undo()
    _write(data / "val" / "people" / "stripes3.jpg", _stripes(np.random.default_rng(5)))  # the folder changed
    try:
        again = quality.same_kind_pairs(data, "people", cache_dir=tmp_path)
        assert len(again) == 6 and len(csv_path.read_text().splitlines()) == 1 + 6
    finally:
        (data / "val" / "people" / "stripes3.jpg").unlink()


def test_random_references_come_from_other_folders_with_a_fixed_seed(quality, data):
    pairs = quality.random_pairs(data)
    assert len(pairs) == 2 * len(FOLDERS) + 3 and {p.kind for p in pairs} == {"random"}
    folder = lambda path: path.relative_to(data / "val").parts[0]  # noqa: E731
    assert all(folder(p.reference) != folder(p.target) for p in pairs)
    assert quality.random_pairs(data) == pairs


def test_set_names_expand_per_folder(quality, data):
    auto = quality.load_set("auto", data)
    assert [name for name, _, _ in auto] == [f"auto-{f}" for f in FOLDERS]
    assert {protocol for _, _, protocol in auto} == {"auto"}
    (name, pairs, protocol), = quality.load_set("auto-scenes", data)
    assert (name, protocol, len(pairs)) == ("auto-scenes", "auto", 2)
    assert "same-kind-cars" in quality.set_names() and "random" in quality.set_names()
    (name, pairs, protocol), = quality.load_set("self-bsds", data)
    assert protocol == "self" and all(p.reference is None for p in pairs)
    assert isinstance(pairs[0], evaluation.Pair)
