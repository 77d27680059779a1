"""data_prep: ops (eager and in tf.data), sources, pairs, the pipeline, TFRecord shards, the CLI.

Photos are generated: class "reds" has red/orange photos (Lab a, b > 0), class "blues" blue ones
(b < 0), so the class of a reference can be read from its colour.
"""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

import data_prep
from data_prep import ops, pairs, pipeline, sources, tfrecords
from data_prep.__main__ import main as cli
from exemplar.core.color import rgb_to_lab
from exemplar.core.errors import ExemplarError

HUES = {"reds": (0, 12), "blues": (100, 112)}  # OpenCV hue range (0-180) of each class


def colourful_photo(rng, height, width, hue_range):
    """(H, W, 3) uint8 RGB: one strong hue (varying a little) with brightness/saturation structure."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    hue = rng.uniform(*hue_range) + 4 * x / width
    sat = 170 + 60 * np.sin(y / 5.0 + rng.uniform(0, 6))
    val = 110 + 120 * (x + y) / (width + height)
    top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
    val[top : top + height // 3, left : left + width // 3] = 250  # a bright patch: structure to warp
    hsv = np.stack([hue, sat, val], axis=-1).clip(0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def write_image(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """6 photos per class (some nested, PNG and JPEG), 1 unlabelled photo, 1 corrupt, 1 grey."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for name, hues in HUES.items():
        for i in range(6):
            sub = "nested/deeper/" if i % 2 else ""
            ext = "png" if i % 3 == 0 else "jpg"
            write_image(root / name / f"{sub}{name}{i}.{ext}", colourful_photo(rng, 40 + 6 * i, 52, hues))
    write_image(root / "loose.jpg", colourful_photo(rng, 44, 44, (40, 50)))  # unlabelled, green
    (root / "reds" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    write_image(root / "blues" / "grey.png", np.full((40, 50, 3), 120, np.uint8))
    (root / ".hidden" ).mkdir()
    write_image(root / ".hidden" / "skip.png", colourful_photo(rng, 40, 40, (0, 10)))
    return root


def eager_and_in_dataset(op, example):
    """Run ``op`` eagerly and inside tf.data; assert both agree; return the eager result (numpy)."""
    eager = {k: np.asarray(v.numpy()) for k, v in op(example).items()}
    graph = next(tf.data.Dataset.from_tensors(example).map(op).as_numpy_iterator())
    assert eager.keys() == graph.keys()
    for key in eager:
        if eager[key].dtype.kind in "SO":
            assert eager[key] == np.asarray(graph[key])
        else:
            np.testing.assert_allclose(eager[key].astype(np.float64), graph[key].astype(np.float64), atol=1e-5)
    return eager


def image_example(rgb, seed=(0, 1)):
    return {"image": tf.constant(rgb), "rng": tf.constant(seed, tf.int64)}


def mean_ab(ab):
    return np.asarray(ab, np.float64).reshape(-1, 2).mean(axis=0)


# --------------------------------------------------------------------------- ops


def test_decode_bytes_and_path_give_rgb_uint8(tmp_path):
    rgba = np.dstack([colourful_photo(np.random.default_rng(1), 20, 30, (0, 10)), np.full((20, 30), 200, np.uint8)])
    grey16 = (np.arange(20 * 30, dtype=np.uint16).reshape(20, 30) * 100).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "rgba.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    cv2.imwrite(str(tmp_path / "grey16.png"), grey16)
    for name, expected in [("rgba.png", rgba[..., :3]), ("grey16.png", np.repeat((grey16 // 257)[..., None], 3, 2))]:
        path = str(tmp_path / name)
        from_path = eager_and_in_dataset(ops.decode(), {"path": tf.constant(path), "label": tf.constant(3)})
        from_bytes = eager_and_in_dataset(ops.decode(), {"image_bytes": tf.io.read_file(path)})
        assert set(from_path) == {"image", "label"} and from_path["label"] == 3
        assert from_path["image"].dtype == np.uint8 and from_path["image"].shape == (20, 30, 3)
        np.testing.assert_array_equal(from_path["image"], from_bytes["image"])
        assert np.abs(from_path["image"].astype(int) - expected).max() <= 1


def test_decode_corrupt_raises_and_ignore_errors_drops_it():
    good = tf.io.encode_png(tf.constant(colourful_photo(np.random.default_rng(2), 8, 8, (0, 10))))
    with pytest.raises(tf.errors.InvalidArgumentError):
        ops.decode()({"image_bytes": tf.constant(b"garbage")})
    dataset = tf.data.Dataset.from_tensor_slices({"image_bytes": [b"garbage", good.numpy(), b"\x89PNG broken"]})
    kept = list(dataset.map(ops.decode()).ignore_errors().as_numpy_iterator())
    assert len(kept) == 1 and kept[0]["image"].shape == (8, 8, 3)


def test_resize_shorter():
    rgb = colourful_photo(np.random.default_rng(3), 30, 50, (0, 10))
    up = eager_and_in_dataset(ops.resize_shorter(45), image_example(rgb))["image"]
    assert up.shape == (45, 75, 3) and up.dtype == np.uint8
    down = eager_and_in_dataset(ops.resize_shorter(15, upscale=False), image_example(rgb))["image"]
    assert down.shape == (15, 25, 3)
    same = eager_and_in_dataset(ops.resize_shorter(45, upscale=False), image_example(rgb))["image"]
    np.testing.assert_array_equal(same, rgb)  # never enlarged
    # Shrinking keeps the colours (antialiased resize of a smooth image).
    assert np.abs(down.reshape(-1, 3).mean(0) - rgb.reshape(-1, 3).mean(0)).max() < 3


def test_mean_chroma_and_is_colourful():
    colour = colourful_photo(np.random.default_rng(4), 16, 16, (100, 110))
    grey = np.full((16, 16, 3), 90, np.uint8)
    expected = np.hypot(*np.moveaxis(rgb_to_lab(colour / 255.0)[..., 1:], -1, 0)).mean()
    got = eager_and_in_dataset(ops.mean_chroma(), image_example(colour))["chroma"]
    assert got == pytest.approx(expected, rel=1e-3) and got > 20
    assert eager_and_in_dataset(ops.mean_chroma(), image_example(grey))["chroma"] < 0.5
    keep = ops.is_colourful(4.0)
    examples = [ops.mean_chroma()(image_example(x)) for x in (colour, grey)]
    assert [bool(keep(e)) for e in examples] == [True, False]
    kept = tf.data.Dataset.from_tensor_slices([colour, grey]).map(lambda x: ops.mean_chroma()({"image": x}))
    kept = kept.filter(keep)
    assert len(list(kept)) == 1


def test_random_crop_is_a_window_and_deterministic():
    rgb = colourful_photo(np.random.default_rng(5), 30, 40, (0, 10))
    crops = []
    for seed in [(0, 1), (0, 2), (0, 3), (0, 4)]:
        crop = eager_and_in_dataset(ops.random_crop(16), image_example(rgb, seed))["image"]
        assert crop.shape == (16, 16, 3)
        windows = [(t, l) for t in range(15) for l in range(25) if np.array_equal(rgb[t : t + 16, l : l + 16], crop)]
        assert windows, "the crop is not a window of the image"
        crops.append(windows[0])
    assert len(set(crops)) > 1  # different seeds, different windows
    again = ops.random_crop(16)(image_example(rgb, (0, 1)))["image"].numpy()
    np.testing.assert_array_equal(again, rgb[crops[0][0] : crops[0][0] + 16, crops[0][1] : crops[0][1] + 16])


def test_center_crop():
    rgb = colourful_photo(np.random.default_rng(6), 30, 40, (0, 10))
    crop = eager_and_in_dataset(ops.center_crop(20), image_example(rgb))["image"]
    np.testing.assert_array_equal(crop, rgb[5:25, 10:30])


def test_random_flip_mirrors_or_not():
    rgb = colourful_photo(np.random.default_rng(7), 12, 16, (0, 10))
    flipped = 0
    for i in range(8):
        out = eager_and_in_dataset(ops.random_flip(), image_example(rgb, (1, i)))["image"]
        assert np.array_equal(out, rgb) or np.array_equal(out, rgb[:, ::-1])
        flipped += np.array_equal(out, rgb[:, ::-1])
    assert 0 < flipped < 8


def test_random_resized_crop():
    rgb = colourful_photo(np.random.default_rng(8), 40, 60, (0, 10))
    out = eager_and_in_dataset(ops.random_resized_crop(24, key="image", out_key="ref"), image_example(rgb))
    assert out["ref"].shape == (24, 24, 3) and out["ref"].dtype == np.uint8
    np.testing.assert_array_equal(out["image"], rgb)  # the source stays
    full = ops.random_resized_crop(24, scale=(1.0, 1.0), ratio=(1.5, 1.5))(image_example(rgb))["image"].numpy()
    whole = tf.image.resize(rgb / 255.0, [24, 24], antialias=True).numpy() * 255
    assert np.abs(full - whole).max() <= 1.5  # area 1 at the image's own aspect: the whole image


def test_random_affine_identity_and_warp():
    rgb = colourful_photo(np.random.default_rng(9), 32, 32, (0, 10))
    same = ops.random_affine(max_rotation=0, max_shear=0, scale=(1, 1), max_translate=0)
    np.testing.assert_array_equal(eager_and_in_dataset(same, image_example(rgb))["image"], rgb)
    warped = eager_and_in_dataset(ops.random_affine(max_rotation=30), image_example(rgb))["image"]
    assert warped.shape == rgb.shape and np.abs(warped.astype(int) - rgb).mean() > 5
    # Reflection fill: no black borders, the colours stay those of the photo.
    assert warped.reshape(-1, 3).sum(1).min() > 0
    assert np.abs(warped.reshape(-1, 3).mean(0) - rgb.reshape(-1, 3).mean(0)).max() < 25


def test_colour_jitter_is_mild():
    rgb = colourful_photo(np.random.default_rng(10), 16, 16, (100, 110))
    none = ops.colour_jitter(max_hue=0, saturation=(1.0, 1.0))
    np.testing.assert_array_equal(eager_and_in_dataset(none, image_example(rgb))["image"], rgb)
    before = mean_ab(rgb_to_lab(rgb / 255.0)[..., 1:])
    changed = 0
    for i in range(4):
        out = eager_and_in_dataset(ops.colour_jitter(), image_example(rgb, (2, i)))["image"]
        changed += not np.array_equal(out, rgb)
        after = mean_ab(rgb_to_lab(out / 255.0)[..., 1:])
        assert np.linalg.norm(after - before) < 20  # ab units: a small hue/saturation change
    assert changed == 4


def test_to_lab_matches_numpy_colour_science():
    rgb = colourful_photo(np.random.default_rng(11), 10, 12, (0, 180))
    out = eager_and_in_dataset(ops.to_lab("image", "target"), {"image": tf.constant(rgb), "label": tf.constant(1)})
    assert set(out) == {"target_l", "target_ab", "label"}
    assert out["target_l"].shape == (10, 12, 1) and out["target_ab"].shape == (10, 12, 2)
    lab = rgb_to_lab(rgb / 255.0)
    np.testing.assert_allclose(out["target_l"][..., 0], lab[..., 0] / 50 - 1, atol=2e-3)
    np.testing.assert_allclose(out["target_ab"], lab[..., 1:] / 110, atol=2e-3)
    assert out["target_l"].min() >= -1 and out["target_l"].max() <= 1 and np.abs(out["target_ab"]).max() <= 1


def test_encode_jpeg_and_parse_shard_round_trip():
    rgb = colourful_photo(np.random.default_rng(12), 16, 24, (0, 10))
    encoded = eager_and_in_dataset(ops.encode_jpeg(95), {"image": tf.constant(rgb), "label": tf.constant(1)})
    assert set(encoded) == {"image_bytes", "label"}
    back = tf.io.decode_jpeg(encoded["image_bytes"]).numpy()
    assert np.abs(back.astype(int) - rgb).mean() < 4
    serialized = tfrecords._example(encoded["image_bytes"].item(), 1, "reds/a.jpg")
    parsed = eager_and_in_dataset(ops.parse_shard(), {"serialized": tf.constant(serialized)})
    assert parsed["label"] == 1 and parsed["label"].dtype == np.int32
    assert parsed["name"] == b"reds/a.jpg" and parsed["image_bytes"] == encoded["image_bytes"]


def test_keep_and_compose():
    example = {"a": tf.constant(1), "b": tf.constant(2.0), "rng": tf.constant([0, 0], tf.int64)}
    assert set(eager_and_in_dataset(ops.keep("a", "b"), example)) == {"a", "b"}
    rgb = colourful_photo(np.random.default_rng(13), 20, 20, (0, 10))
    both = ops.compose(ops.center_crop(10), ops.mean_chroma())
    out = eager_and_in_dataset(both, image_example(rgb))
    assert out["image"].shape == (10, 10, 3) and out["chroma"] > 10


# --------------------------------------------------------------------------- sources


def test_image_folder_labels_recursive_and_unlabelled(folder):
    records, class_names = found = sources.image_folder(folder)
    assert class_names == ["blues", "reds"] and found.class_names == class_names and found.records == records
    assert data_prep.image_folder_records(folder) == found  # the package-level name
    by_name = {path.split("/")[-1]: label for path, label in records}
    assert len(records) == 6 + 6 + 1 + 1 + 1  # photos, loose, broken, grey; not the hidden one
    assert by_name["reds5.jpg"] == 1 and by_name["blues3.png"] == 0  # found below nested/deeper/
    assert by_name["loose.jpg"] == -1 and "skip.png" not in by_name
    assert [p for p, _ in records] == sorted(p for p, _ in records)


def test_image_folder_classes_where_the_layout_has_them(tmp_path):
    # Like ../shared/data/train: class folders inside collections, beside unlabelled collections.
    names = ["scenes/forest/1.jpg", "scenes/forest/2.jpg", "scenes/sea/1.png", "flowers/rose/1.jpg"]
    names += ["flowers/rose/a/2.jpg", "flowers/tulip/1.jpg", "bsds/1.jpg", "bsds/2.jpg", "objects/x.webp"]
    for name in names + ["notes.txt", "top.jpg"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")  # image_folder only lists; it does not decode
    records, class_names = sources.image_folder(tmp_path)
    assert class_names == ["flowers/rose", "flowers/tulip", "scenes/forest", "scenes/sea"]
    label_of = {str(Path(path).relative_to(tmp_path)): label for path, label in records}
    assert label_of == {
        **{"scenes/forest/1.jpg": 2, "scenes/forest/2.jpg": 2, "scenes/sea/1.png": 3},
        **{"flowers/rose/1.jpg": 0, "flowers/rose/a/2.jpg": 0, "flowers/tulip/1.jpg": 1},  # nested: rose's
        **{"bsds/1.jpg": -1, "bsds/2.jpg": -1, "objects/x.webp": -1, "top.jpg": -1},  # not in a class
    }
    # A validation folder labelled like the training folder (here with fewer classes).
    val = sources.image_folder(tmp_path / "scenes", class_names=["flowers/rose", "forest", "sea"])
    assert val.class_names == ["flowers/rose", "forest", "sea"]
    assert sorted(label for _, label in val.records) == [1, 1, 2]


def test_image_folder_subset_and_limit(folder):
    records, class_names = sources.image_folder(folder, classes=["reds"])
    assert class_names == ["reds"] and {label for _, label in records} == {0} and len(records) == 7
    small, _ = sources.image_folder(folder, limit=2, seed=1)
    labels = [label for _, label in small]
    assert labels.count(0) == 2 and labels.count(1) == 2 and labels.count(-1) == 1
    assert small == sources.image_folder(folder, limit=2, seed=1)[0]  # deterministic
    other = [sources.image_folder(folder, limit=2, seed=s)[0] for s in range(2, 6)]
    assert any(o != small for o in other)  # the seed changes the sample
    bigger = sources.image_folder(folder, limit=4, seed=1)[0]
    assert set(small) <= set(bigger)  # a larger limit extends the sample
    with pytest.raises(ExemplarError, match="greens"):
        sources.image_folder(folder, classes=["greens"])
    with pytest.raises(ExemplarError, match="not a folder"):
        sources.image_folder(folder / "loose.jpg")


def test_scan_images_reports_corrupt_and_grey(folder):
    records, _ = sources.image_folder(folder)
    report = sources.scan_images(records)
    assert [p.split("/")[-1] for p in report.corrupt] == ["broken.jpg"]
    assert [p.split("/")[-1] for p in report.grey] == ["grey.png"]
    assert len(report.ok) == 13 and all(r in records for r in report.ok)
    assert "1 corrupt" in report.summary() and "broken.jpg" in report.summary()


# --------------------------------------------------------------------------- pairs


def test_pair_up_partners_share_the_class():
    names = ["a0", "a1", "a2", "b0", "b1", "u0"]
    labels = [0, 0, 0, 1, 1, -1]
    images = [np.full((2 + i, 3, 3), i, np.uint8) for i in range(6)]  # different shapes on purpose
    rows = [
        {"image": image, "label": label, "name": name, "rng": np.array([0, i])}
        for i, (image, label, name) in enumerate(zip(images, labels, names))
    ]
    dataset = tf.data.Dataset.from_generator(
        lambda: iter(rows),
        output_signature={
            "image": tf.TensorSpec([None, 3, 3], tf.uint8),
            "label": tf.TensorSpec([], tf.int32),
            "name": tf.TensorSpec([], tf.string),
            "rng": tf.TensorSpec([2], tf.int64),
        },
    )
    label_of = dict(zip(names, labels))
    out = list(pairs.pair_up(dataset, 1.0).as_numpy_iterator())
    assert sorted(e["name"].decode() for e in out) == names  # every photo is a target once
    partner = {e["name"].decode(): e["other_name"].decode() for e in out}
    for e in out:
        assert label_of[partner[e["name"].decode()]] == e["label"]
        np.testing.assert_array_equal(e["other_image"], images[names.index(partner[e["name"].decode()])])
    assert partner["a0"] == "a1" and partner["a1"] == "a0" and partner["b0"] == "b1"
    assert partner["a2"] == "a2" and partner["u0"] == "u0"  # left over / unlabelled: itself
    alone = list(pairs.pair_up(dataset, 0.0).as_numpy_iterator())
    assert all(e["other_name"] == e["name"] for e in alone)


def paired_example(rgb, other_rgb=None):
    other = rgb if other_rgb is None else other_rgb
    return {
        "image": tf.constant(rgb),
        "other_image": tf.constant(other),
        "name": tf.constant("x"),
        "other_name": tf.constant("x" if other_rgb is None else "y"),
        "label": tf.constant(0),
        "rng": tf.constant([0, 5], tf.int64),
    }


def test_make_pair_self_reference_is_a_transformed_target():
    rgb = colourful_photo(np.random.default_rng(14), 40, 48, (100, 110))
    out = eager_and_in_dataset(pairs.make_pair(32, 24, training=True), paired_example(rgb))
    assert set(out) == {"target_l", "target_ab", "reference_l", "reference_ab", "label", "pair_kind"}
    assert out["target_l"].shape == (32, 32, 1) and out["reference_ab"].shape == (24, 24, 2)
    assert out["pair_kind"] == 0 and out["label"] == 0
    # Same photo: colours close to the target's; but geometrically changed, not a plain crop.
    assert np.linalg.norm(mean_ab(out["reference_ab"]) - mean_ab(out["target_ab"])) < 0.15
    source_l = rgb_to_lab(rgb / 255.0)[..., :1] / 50 - 1
    ref_l = out["reference_l"]
    plain = [np.abs(source_l[t : t + 24, l : l + 24] - ref_l).mean() for t in range(17) for l in range(25)]
    assert min(plain) > 0.02


def test_self_augment_options_control_the_reference_colours():
    rgb = colourful_photo(np.random.default_rng(14), 40, 48, (100, 110))
    target_ab = mean_ab(rgb_to_lab(rgb / 255.0)[..., 1:] / 110)
    shifts = {}
    for saturation in (0.0, 0.9):
        augment = dict(crop_min=1.0, hue=0.0, saturation=saturation)
        op = pairs.make_pair(32, 24, training=True, self_augment=augment)
        distances = []
        for index in range(6):
            example = {**paired_example(rgb), "rng": tf.constant([0, index], tf.int64)}
            out = eager_and_in_dataset(op, example) if index == 0 else op(example)
            distances.append(np.linalg.norm(mean_ab(np.asarray(out["reference_ab"])) - target_ab))
        shifts[saturation] = max(distances)
    # No jitter: the whole photo's colours (crop_min 1); strong saturation jitter moves them.
    assert shifts[0.0] < 0.03 and shifts[0.9] > 2 * shifts[0.0] + 0.03


def test_make_pair_same_class_reference_comes_from_the_other_photo():
    rgb = colourful_photo(np.random.default_rng(15), 40, 48, (100, 110))  # blue
    other = colourful_photo(np.random.default_rng(16), 44, 40, (0, 10))  # red
    out = eager_and_in_dataset(pairs.make_pair(32, 24, training=False), paired_example(rgb, other))
    assert out["pair_kind"] == 1
    other_ab = mean_ab(rgb_to_lab(other / 255.0)[..., 1:] / 110)
    assert np.linalg.norm(mean_ab(out["reference_ab"]) - other_ab) < 0.1
    np.testing.assert_allclose(out["target_l"][..., 0], rgb_to_lab(rgb[4:36, 8:40] / 255.0)[..., 0] / 50 - 1, atol=2e-3)


# --------------------------------------------------------------------------- pipeline


def class_of(ab):
    """0 (blues) or 1 (reds) from the mean colour, as the photos are made."""
    return int(mean_ab(ab)[1] > 0)


def test_pipeline_shapes_ranges_and_skips(folder):
    records, _ = sources.image_folder(folder)
    dataset = pipeline.make_dataset(
        records, image_size=32, reference_size=24, batch_size=1, training=False, repeat=False
    )
    spec = dataset.element_spec
    assert spec["target_l"].shape == (1, 32, 32, 1) and spec["reference_ab"].shape == (1, 24, 24, 2)
    assert spec["label"].dtype == tf.int32 and spec["pair_kind"].dtype == tf.int32
    batches = list(dataset.as_numpy_iterator())
    assert len(batches) == 13  # 15 files - corrupt - grey: dropped, not crashed on
    labels = sorted(int(b["label"][0]) for b in batches)
    assert labels == [-1] + [0] * 6 + [1] * 6
    for b in batches:
        assert b["target_l"].dtype == np.float32 and -1 <= b["target_l"].min() and b["target_l"].max() <= 1
        assert np.abs(b["target_ab"]).max() <= 1 and np.abs(b["reference_ab"]).max() <= 1
        assert b["pair_kind"][0] == 0
        # Self pairs: the reference has its target's colours (same photo, mild jitter).
        assert np.linalg.norm(mean_ab(b["reference_ab"]) - mean_ab(b["target_ab"])) < 0.2
        if b["label"][0] >= 0:
            assert class_of(b["target_ab"]) == b["label"][0]


def test_pipeline_same_class_pairs(folder):
    records, _ = sources.image_folder(folder)
    dataset = pipeline.make_dataset(
        records, image_size=24, reference_size=32, batch_size=4, same_class_fraction=1.0, seed=3
    )
    kinds = []
    for batch in dataset.take(8).as_numpy_iterator():
        assert batch["target_ab"].shape == (4, 24, 24, 2) and batch["reference_l"].shape == (4, 32, 32, 1)
        for i in range(4):
            label, kind = batch["label"][i], batch["pair_kind"][i]
            kinds.append(kind)
            if label < 0:
                assert kind == 0  # unlabelled: always self
            else:
                assert class_of(batch["reference_ab"][i]) == label  # a photo of its class
    assert kinds.count(1) >= 24  # all labelled photos but the rare waiting one


def test_pipeline_is_deterministic_for_a_seed(folder):
    records, _ = sources.image_folder(folder)

    def batches(seed, count):
        dataset = pipeline.make_dataset(
            records, image_size=16, reference_size=16, batch_size=8, same_class_fraction=0.5, seed=seed
        )
        return list(dataset.take(count).as_numpy_iterator())

    a, b, c = batches(7, 8), batches(7, 1), batches(8, 1)
    for key in b[0]:
        np.testing.assert_array_equal(a[0][key], b[0][key])
    assert not np.array_equal(a[0]["target_ab"], c[0]["target_ab"])
    # About half of the labelled photos (12 of 13) get a same-class partner.
    kinds = np.concatenate([batch["pair_kind"] for batch in a])
    assert 0.25 < kinds.mean() < 0.7


def test_pipeline_under_tf_distribute(folder):
    records, _ = sources.image_folder(folder)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    dataset = pipeline.make_dataset(records, image_size=16, reference_size=16, batch_size=2, same_class_fraction=0.5)
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
    local = strategy.experimental_local_results(batch["target_l"])
    assert sum(t.shape[0] for t in local) == 2 and local[0].shape[1:] == (16, 16, 1)


# --------------------------------------------------------------------------- TFRecords and CLI


def test_shards_round_trip(folder, tmp_path):
    records, class_names = sources.image_folder(folder)
    report = tfrecords.write_shards(records, class_names, tmp_path / "shards", num_shards=3, size=30)
    assert report.written == 13 and len(report.shards) == 3
    assert report.corrupt == ["reds/broken.jpg"] and report.grey == ["blues/grey.png"]
    assert report.per_class == {"reds": 6, "blues": 6, "unlabelled": 1}
    info = json.loads((tmp_path / "shards" / "dataset.json").read_text())
    assert info["class_names"] == class_names and info["skipped"]["corrupt"] == ["reds/broken.jpg"]
    assert tfrecords.read_class_names(tmp_path / "shards") == class_names
    examples = list(tfrecords.read_shards(str(tmp_path / "shards" / "*.tfrecord")).as_numpy_iterator())
    assert len(examples) == 13
    label_of = {str(Path(path).relative_to(folder)): label for path, label in records}  # names are relative
    for example in examples:
        image = tf.io.decode_jpeg(example["image_bytes"]).numpy()
        assert min(image.shape[:2]) <= 30 and image.shape[2] == 3
        name = example["name"].decode()
        assert example["label"] == label_of[name]
    shards = tfrecords.load_shards(tmp_path / "shards")
    assert shards.class_names == class_names
    dataset = pipeline.make_dataset(shards, image_size=24, reference_size=16, batch_size=4, same_class_fraction=0.5)
    batch = next(dataset.as_numpy_iterator())
    assert batch["target_l"].shape == (4, 24, 24, 1) and batch["reference_ab"].shape == (4, 16, 16, 2)
    with pytest.raises(ExemplarError, match="already holds shards"):
        tfrecords.write_shards(records, class_names, tmp_path / "shards", num_shards=1, size=30)


def test_cli_shard_and_inspect(folder, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(cli, ["shard", str(folder), str(out), "--shards", "2", "--size", "32", "--classes", "reds"])
    assert result.exit_code == 0, result.output
    assert "wrote 6 photos into 2 shards; skipped 1 corrupt, 0 near-grey" in result.output
    assert "skipped corrupt: reds/broken.jpg" in result.output  # named relative to SRC
    result = runner.invoke(cli, ["inspect", str(out)])
    assert result.exit_code == 0 and "6 photos in 2 shards" in result.output and "reds: 6" in result.output
    result = runner.invoke(cli, ["shard", str(folder), str(tmp_path / "x"), "--classes", "greens"])
    assert result.exit_code == 1 and "unknown class" in result.output
