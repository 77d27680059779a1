"""Places365 through the real tensorflow-datasets ``places365_small`` builder, on tiny fake archives.

The four official archives are rebuilt in miniature (same names, same layout inside, 256x256
JPEGs) in a manual dir; ``sources.prepare_places365`` then runs the real TFDS preparation, and the
reading code reads the files it wrote, as it would for a user with the real archives. Only the
checksums TFDS expects for the 31 GB originals are replaced by those of the fake ones.
"""

import io
import tarfile

import cv2
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from data_prep import pipeline, sources, tfrecords
from data_prep.__main__ import main as cli
from exemplar.core.errors import ExemplarError

tfds = pytest.importorskip("tensorflow_datasets")

# Fake training photos: class -> (archive paths below data_256/, OpenCV hue of its photos).
TRAIN = {
    "airfield": (["/a/airfield/00000001.jpg", "/a/airfield/00000002.jpg", "/a/airfield/00000003.jpg"], 10),
    "alley": (["/a/alley/00000001.jpg", "/a/alley/00000002.jpg"], 60),
    "forest/broadleaf": (["/f/forest/broadleaf/00000001.jpg", "/f/forest/broadleaf/00000002.jpg"], 110),
}


def fake_jpeg(rng, hue):
    """256x256 JPEG bytes (the builder's fixed shape): one hue, brightness/saturation structure."""
    y, x = np.mgrid[0:256, 0:256].astype(np.float32)
    hsv = np.stack([hue + 5 * x / 256 + rng.uniform(-3, 3), 150 + 80 * np.sin(y / 20), 90 + 150 * (x + y) / 512], -1)
    bgr = cv2.cvtColor(hsv.clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return data.tobytes()


def write_tar(path, members):
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def make_archives(manual_dir, label_of):
    """The four archives of sources.PLACES365_FILES, in miniature."""
    rng = np.random.default_rng(0)
    manual_dir.mkdir(parents=True, exist_ok=True)
    train = {f"data_256{path}": fake_jpeg(rng, hue) for name, (paths, hue) in TRAIN.items() for path in paths}
    write_tar(manual_dir / "train_256_places365standard.tar", train)
    write_tar(manual_dir / "val_256.tar", {"val_256/Places365_val_00000001.jpg": fake_jpeg(rng, 60)})
    write_tar(manual_dir / "test_256.tar", {"test_256/Places365_test_00000001.jpg": fake_jpeg(rng, 10)})
    train_list = "".join(f"{path} {label_of[name]}\n" for name, (paths, _) in TRAIN.items() for path in paths)
    write_tar(
        manual_dir / "filelist_places365-standard.tar",
        {
            "places365_train_standard.txt": train_list.encode(),
            "places365_val.txt": f"Places365_val_00000001.jpg {label_of['alley']}\n".encode(),
            "places365_test.txt": b"Places365_test_00000001.jpg\n",
        },
    )


@pytest.fixture(scope="module")
def all_names():
    names_file = tfds.core.tfds_path("image_classification/categories_places365.txt")
    return names_file.read_text().split()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, all_names):
    """(data_dir, manual_dir) with places365_small prepared by the real builder from fake archives."""
    pytest.importorskip("importlib_resources", reason="tensorflow-datasets needs it to prepare a dataset")
    root = tmp_path_factory.mktemp("places365")
    manual_dir, data_dir = root / "manual", root / "tfds"
    make_archives(manual_dir, {name: all_names.index(name) for name in TRAIN})
    builder_cls = tfds.builder_cls("places365_small")
    fake_checksums = {
        url: tfds.core.download.checksums.compute_url_info(manual_dir / info.filename)
        for url, info in builder_cls.url_infos.items()
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builder_cls, "url_infos", fake_checksums)
        sources.prepare_places365(data_dir, manual_dir)
    return data_dir, manual_dir


def read_all(dataset):
    return [(e["name"].decode(), int(e["label"]), e["image_bytes"]) for e in dataset.as_numpy_iterator()]


def class_from_name(name):
    """'data_256/f/forest/broadleaf/00000001.jpg' -> 'forest/broadleaf'."""
    return "/".join(name.split("/")[2:-1])


def test_missing_archives_and_unprepared_data_dir_raise(tmp_path):
    (tmp_path / "manual").mkdir()
    (tmp_path / "manual" / "val_256.tar").write_bytes(b"")
    with pytest.raises(ExemplarError, match="train_256_places365standard.tar"):
        sources.prepare_places365(tmp_path / "tfds", tmp_path / "manual")
    with pytest.raises(ExemplarError, match="no prepared places365_small"):
        sources.places365(tmp_path / "tfds")


def test_read_all_classes(prepared, all_names):
    dataset, class_names = sources.places365(prepared[0])
    assert class_names == all_names and len(class_names) == 365
    examples = read_all(dataset)
    assert len(examples) == 7
    for name, label, data in examples:
        assert class_names[label] == class_from_name(name)
        assert tf.io.decode_jpeg(data).shape == (256, 256, 3)
    validation = read_all(sources.places365(prepared[0], split="validation")[0])
    assert [label for _, label, _ in validation] == [all_names.index("alley")]
    test = read_all(sources.places365(prepared[0], split="test")[0])
    assert [label for _, label, _ in test] == [-1]  # the test split has no labels


def test_class_subset_and_limit(prepared):
    dataset, class_names = sources.places365(prepared[0], classes=["forest/broadleaf", "airfield"])
    assert class_names == ["airfield", "forest/broadleaf"]
    examples = read_all(dataset)
    assert sorted(label for _, label, _ in examples) == [0, 0, 0, 1, 1]
    assert all(class_names[label] == class_from_name(name) for name, label, _ in examples)
    limited = read_all(sources.places365(prepared[0], classes=["airfield", "alley"], limit=1, seed=3)[0])
    assert sorted(label for _, label, _ in limited) == [0, 1]
    again = read_all(sources.places365(prepared[0], classes=["airfield", "alley"], limit=1, seed=3)[0])
    assert [n for n, _, _ in again] == [n for n, _, _ in limited]  # deterministic for a seed
    two = read_all(sources.places365(prepared[0], classes=["airfield"], limit=2, seed=3)[0])
    assert len(two) == 2
    with pytest.raises(ExemplarError, match="unknown class"):
        sources.places365(prepared[0], classes=["moon_base"])


def test_places365_stream_feeds_the_pipeline(prepared):
    dataset, _ = sources.places365(prepared[0], classes=["airfield", "alley", "forest/broadleaf"])
    batches = pipeline.make_dataset(
        dataset, image_size=32, reference_size=24, batch_size=4, same_class_fraction=1.0, shuffle_buffer=8
    )
    for batch in batches.take(3).as_numpy_iterator():
        assert batch["target_l"].shape == (4, 32, 32, 1) and batch["reference_ab"].shape == (4, 24, 24, 2)
        assert set(batch["label"]) <= {0, 1, 2}
        # Each class has its own hue, so a same-class reference has the target's colour.
        for i in np.flatnonzero(batch["pair_kind"] == 1):
            target = batch["target_ab"][i].reshape(-1, 2).mean(0)
            reference = batch["reference_ab"][i].reshape(-1, 2).mean(0)
            assert np.linalg.norm(target - reference) < 0.2


def test_cli_exports_a_subset_to_shards(prepared, tmp_path):
    data_dir, manual_dir = prepared
    out = tmp_path / "shards"
    args = ["places365", "--data-dir", str(data_dir), "--manual-dir", str(manual_dir), "--classes", "alley,airfield"]
    result = CliRunner().invoke(cli, args + ["--limit", "2", "--out", str(out), "--shards", "2", "--size", "64"])
    assert result.exit_code == 0, result.output
    assert "wrote 4 photos into 2 shards; skipped 0 corrupt, 0 near-grey" in result.output
    assert tfrecords.read_class_names(out) == ["airfield", "alley"]
    examples = list(tfrecords.read_shards(out).as_numpy_iterator())
    assert sorted(int(e["label"]) for e in examples) == [0, 0, 1, 1]
    assert all(tf.io.decode_jpeg(e["image_bytes"]).shape == (64, 64, 3) for e in examples)


def test_archive_check_names_wrong_files_before_the_long_pass(tmp_path, all_names):
    """Missing, truncated and wrong-variant archives fail in the check, each named, before any hashing."""
    import inspect
    import shutil

    from data_prep.places365_archives import check_archives, expected_sizes

    official = expected_sizes()  # TFDS's record of the real archives: 31.4 GB in all
    assert official["train_256_places365standard.tar"] == 26_103_685_120 and len(official) == 4
    # Why preparation is not handed to a Beam runner: the builder's examples come from a Python
    # generator over each tar stream, which TFDS always builds in-process.
    assert inspect.isgeneratorfunction(tfds.builder_cls("places365_small")._generate_examples)

    manual = tmp_path / "manual"
    make_archives(manual, {name: all_names.index(name) for name in TRAIN})
    sizes = {name: (manual / name).stat().st_size for name in sources.PLACES365_FILES}
    assert check_archives(manual, sizes) == sizes
    with pytest.raises(ExemplarError, match="train_256_places365standard.tar is .* bytes, the official archive 26,103,685,120"):
        check_archives(manual)  # the fake archives are not the official ones

    broken = tmp_path / "broken"
    shutil.copytree(manual, broken)
    train = broken / "train_256_places365standard.tar"
    train.write_bytes(train.read_bytes()[: sizes[train.name] // 2])  # an interrupted download
    write_tar(broken / "val_256.tar", {"val_large/Places365_val_00000001.jpg": b"x" * 10})  # the large variant
    write_tar(broken / "filelist_places365-standard.tar", {"places365_val.txt": b""})
    with pytest.raises(ExemplarError) as error:
        check_archives(broken, {**sizes, "val_256.tar": (broken / "val_256.tar").stat().st_size,
                                "filelist_places365-standard.tar": (broken / "filelist_places365-standard.tar").stat().st_size})
    message = str(error.value)
    assert "an interrupted download" in message and "val_256.tar starts with val_large/" in message
    assert "lacks places365_train_standard.txt, places365_test.txt" in message

    result = CliRunner().invoke(cli, ["places365", "--data-dir", str(tmp_path / "tfds"), "--manual-dir", str(manual),
                                      "--check"])
    assert result.exit_code == 1 and "the official archive" in result.output  # fake sizes are refused
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("data_prep.places365_archives.expected_sizes", lambda: sizes)
        result = CliRunner().invoke(cli, ["places365", "--data-dir", str(tmp_path / "tfds"),
                                          "--manual-dir", str(manual), "--check"])
    assert result.exit_code == 0, result.output
    assert f"ok  train_256_places365standard.tar  {sizes['train_256_places365standard.tar']:,} bytes" in result.output
    assert not (tmp_path / "tfds").exists()  # a check prepares nothing
