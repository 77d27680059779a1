"""The frozen-encoder feature cache (data_prep.feature_cache) and the pairs made from it
(data_prep.cached_pairs): built on a few generated photos with a random-init encoder."""

import json

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from data_prep import feature_cache, sources
from data_prep.cached_pairs import CachedPairs, jitter_ab, make_cached_dataset, normalise_lab
from data_prep.feature_cache import LEVELS, FeatureCache, build_cache
from exemplar.model.encoder import EfficientNetLite0
from exemplar.core.errors import ExemplarError

SIZE = 96  # cache side: 3 x 3 stride-32 cells


def colour_photo(rng, height, width):
    """(H, W, 3) uint8 BGR: a colourful gradient with a bright block, different per call."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(0.2, 0.8, 3)
    rgb = np.stack([base[0] + 0.3 * np.sin(x / 9 + base[1] * 6), base[1] + 0.3 * np.cos(y / 7),
                    base[2] + 0.25 * np.sin((x + y) / 11)], -1)
    top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
    rgb[top : top + height // 3, left : left + width // 3] = rng.uniform(0.1, 0.9, 3)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)[..., ::-1]


def write_photos(root, per_class=3, seed=0):
    """``per_class`` colour photos in each of two class folders, of several sizes, plus a grey
    photo and a corrupt file (which the cache must skip). Returns the root."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(["forest", "sea"]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            assert cv2.imwrite(str(root / name / f"{i}.png"), colour_photo(rng, 100 + 10 * i, 120 - 8 * c))
    assert cv2.imwrite(str(root / "sea" / "grey.png"), np.full((100, 100, 3), 128, np.uint8))
    (root / "forest" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


@pytest.fixture(scope="module")
def encoder():
    keras.utils.set_random_seed(0)
    return EfficientNetLite0(include_top=False, weights=None)


@pytest.fixture(scope="module")
def built(tmp_path_factory, encoder):
    """(records, cache folder, meta) of a cache of 6 photos (2 classes); 2 bad files skipped."""
    root = write_photos(tmp_path_factory.mktemp("photos"))
    records = sources.image_folder(root)
    out = tmp_path_factory.mktemp("cache")
    meta = build_cache(records, out, size=SIZE, batch_size=4, encoder=encoder, progress=None, root=root)
    return records, out, meta


def test_build_cache_writes_every_level_and_lists_skipped_photos(built, encoder):
    records, out, meta = built
    assert meta["count"] == 6 and meta["size"] == SIZE and meta["class_names"] == ["forest", "sea"]
    assert json.loads((out / "meta.json").read_text()) == meta
    skipped = {entry["file"].rsplit("/", 1)[-1]: entry["reason"] for entry in meta["skipped"]}
    assert skipped == {"broken.jpg": "unreadable", "grey.png": "near-grey"}
    assert not list(out.glob("*.tmp.npy"))
    cache = FeatureCache(out)
    assert len(cache) == 6 and cache.size == SIZE and cache.class_names == ["forest", "sea"]
    np.testing.assert_array_equal(cache.labels, [0, 0, 0, 1, 1, 1])
    assert cache.group_names == ["forest", "sea"]  # the top-level folders below the cached root
    np.testing.assert_array_equal(cache.groups, [0, 0, 0, 1, 1, 1])
    for name, (stride, channels) in LEVELS.items():
        assert cache.arrays[name].shape == (6, 2, SIZE // stride, SIZE // stride, channels)
        assert cache.arrays[name].dtype == np.float16
    assert cache.arrays["lab4"].shape == (6, SIZE // 4, SIZE // 4, 3)

    # The stored features are the encoder's on the photo's grey (L * 2.55) and on its mirror image.
    lab = feature_cache._load_square(meta["files"][4], SIZE)
    assert lab.shape == (SIZE, SIZE, 3)
    grey = np.repeat(lab[..., :1] * 2.55, 3, axis=-1)[None]
    for mirror, image in enumerate((grey, grey[:, :, ::-1])):
        expected = encoder(image, training=False)
        for name in LEVELS:
            value = np.asarray(expected[name.replace("s", "stride")])[0]
            stored = value.astype(np.float16).astype(np.float32)  # what float16 storage keeps of it
            got = cache.arrays[name][4, mirror].astype(np.float32)
            np.testing.assert_allclose(got, stored, rtol=2e-3, atol=1.2e-7, err_msg=name)  # ~1 float16 step
    # lab4: CIE Lab averaged over 4 x 4 blocks, in Lab units.
    blocks = lab.reshape(SIZE // 4, 4, SIZE // 4, 4, 3).mean((1, 3))
    np.testing.assert_allclose(cache.arrays["lab4"][4].astype(np.float32), blocks, atol=0.1)
    assert np.hypot(blocks[..., 1], blocks[..., 2]).mean() > 4  # a colour photo


def test_crop_is_exact_per_level_and_mirrors_lab(built):
    _, out, _ = built
    cache = FeatureCache(out)
    whole = cache.crop(2, 0, 0, 0, 3)  # all 3 x 3 cells
    part = cache.crop(2, 0, 1, 0, 2)  # 2 x 2 cells, one cell down
    for name, (stride, channels) in LEVELS.items():
        per_cell = 32 // stride
        assert part[name].shape == (2 * per_cell, 2 * per_cell, channels) and part[name].dtype == np.float32
        np.testing.assert_array_equal(part[name], whole[name][per_cell : 3 * per_cell, : 2 * per_cell])
    assert part["lab4"].shape == (16, 16, 3)
    np.testing.assert_array_equal(part["lab4"], whole["lab4"][8:24, :16])
    # Mirror: the mirror image's features, and the Lab flipped to match them.
    mirrored = cache.crop(2, 1, 0, 1, 2)
    np.testing.assert_array_equal(mirrored["s8"], cache.arrays["s8"][2, 1, 0:8, 4:12].astype(np.float32))
    np.testing.assert_array_equal(mirrored["lab4"], whole["lab4"][:16, ::-1][:, 8:24])
    assert set(cache.crop(0, 0, 0, 0, 1, levels=("s8",))) == {"s8", "lab4"}


def test_jitter_changes_only_ab_a_little():
    rng = np.random.default_rng(0)
    lab = np.stack([rng.uniform(0, 100, (8, 8)), rng.uniform(-60, 60, (8, 8)), rng.uniform(-60, 60, (8, 8))], -1)
    for _ in range(5):
        out = jitter_ab(lab, rng, hue=0.02, saturation=0.1)
        np.testing.assert_array_equal(out[..., 0], lab[..., 0])
        ratio = np.hypot(out[..., 1], out[..., 2]) / np.hypot(lab[..., 1], lab[..., 2])
        assert np.ptp(ratio) < 1e-6 and 0.9 - 1e-6 <= ratio[0, 0] <= 1.1 + 1e-6  # one saturation factor
        turn = np.angle((out[..., 1] + 1j * out[..., 2]) / (lab[..., 1] + 1j * lab[..., 2]))
        assert np.ptp(turn) < 1e-6 and abs(turn[0, 0]) <= 0.02 * 2 * np.pi + 1e-6  # one small hue turn
    np.testing.assert_allclose(jitter_ab(lab, rng, hue=0.0, saturation=0.0), lab, atol=1e-9)
    np.testing.assert_allclose(normalise_lab(np.float32([[50.0, 110.0, -55.0]])), [[0.0, 1.0, -0.5]])


def test_cached_pairs_make_self_and_same_class_examples(built):
    _, out, _ = built
    cache = FeatureCache(out)
    rng = np.random.default_rng(0)
    pairs = CachedPairs(cache, image_size=64, reference_size=32, same_class_fraction=0.0)
    example = pairs.example(1, rng)
    shapes = {key: value.shape for key, value in example.items()}
    assert shapes == {
        "target_s4": (16, 16, 24), "target_s8": (8, 8, 40), "target_s16": (4, 4, 112), "target_s32": (2, 2, 320),
        "reference_s8": (4, 4, 40), "reference_s16": (2, 2, 112), "reference_s32": (1, 1, 320),
        "target_lab4": (16, 16, 3), "reference_lab4": (8, 8, 3), "label": (), "pair_kind": (),
    }
    assert all(value.dtype == np.float32 for key, value in example.items() if key not in ("label", "pair_kind"))
    assert int(example["label"]) == 0 and int(example["pair_kind"]) == 0  # fraction 0: always a self pair
    assert np.abs(example["target_lab4"]).max() <= 1.0 + 1e-3  # [L/50 - 1, a/110, b/110]
    # training=False: centre crops, a self pair without jitter, the same every time.
    fixed = [pairs.example(4, np.random.default_rng(seed), training=False) for seed in (1, 2)]
    for key in fixed[0]:
        np.testing.assert_array_equal(fixed[0][key], fixed[1][key], err_msg=key)
    np.testing.assert_array_equal(fixed[0]["target_lab4"], normalise_lab(cache.crop(4, 0, 0, 0, 2)["lab4"]))
    np.testing.assert_array_equal(fixed[0]["reference_lab4"], normalise_lab(cache.crop(4, 1, 1, 1, 1)["lab4"]))

    other = CachedPairs(cache, image_size=64, reference_size=64, same_class_fraction=1.0)
    for index in range(6):
        example = other.example(index, rng)
        assert int(example["pair_kind"]) == 1  # always another photo of the class
    assert other.partner(0, rng) in (1, 2) and other.partner(5, rng) in (3, 4)
    with pytest.raises(ValueError, match="multiple of 32"):
        CachedPairs(cache, image_size=48)
    with pytest.raises(ValueError, match="at most"):
        CachedPairs(cache, image_size=128)


def test_batches_and_the_tf_data_pipeline(built):
    _, out, _ = built
    cache = FeatureCache(out)
    pairs = CachedPairs(cache, image_size=64, reference_size=64)
    one_pass = list(pairs.batches(4, training=False))
    assert len(one_pass) == 1 and one_pass[0]["target_s4"].shape == (4, 16, 16, 24)  # remainder dropped
    np.testing.assert_array_equal(one_pass[0]["label"], [0, 0, 0, 1])

    dataset = make_cached_dataset(cache, image_size=64, reference_size=32, batch_size=4, seed=3)
    spec = dataset.element_spec
    assert spec["target_s32"].shape == (4, 2, 2, 320) and spec["reference_lab4"].shape == (4, 8, 8, 3)
    assert spec["label"].dtype == tf.int32 and spec["target_s4"].dtype == tf.float32
    batches = list(dataset.take(3))  # endless when training: more batches than one pass holds
    assert len(batches) == 3
    for batch in batches:
        assert all(np.all(np.isfinite(batch[key].numpy())) for key in batch if batch[key].dtype == tf.float32)
        assert set(batch["pair_kind"].numpy()) <= {0, 1}
    again = list(make_cached_dataset(cache, image_size=64, reference_size=32, batch_size=4, seed=3).take(3))
    for first, second in zip(batches, again):  # seeded: the same stream
        np.testing.assert_array_equal(first["target_lab4"].numpy(), second["target_lab4"].numpy())


def test_an_interrupted_build_leaves_no_complete_looking_cache(tmp_path, encoder, monkeypatch):
    root = write_photos(tmp_path / "photos", per_class=3)
    out = tmp_path / "cache"
    real_load = feature_cache._load_square
    calls = []

    def load_then_stop(path, size):
        calls.append(path)
        if len(calls) == 8 + 3:  # pass 1 reads all 8 files; stop while encoding the second batch
            raise KeyboardInterrupt
        return real_load(path, size)

    monkeypatch.setattr(feature_cache, "_load_square", load_then_stop)
    with pytest.raises(KeyboardInterrupt):
        build_cache(sources.image_folder(root), out, size=64, batch_size=2, encoder=encoder, progress=None)
    assert not (out / "meta.json").exists()
    assert not [p for p in out.glob("*.npy") if not p.name.endswith(".tmp.npy")]  # only temporary files
    with pytest.raises(ExemplarError, match="not a complete feature cache"):
        FeatureCache(out)
    monkeypatch.setattr(feature_cache, "_load_square", real_load)
    meta = build_cache(sources.image_folder(root), out, size=64, batch_size=2, encoder=encoder, progress=None)
    assert meta["count"] == 6 and len(FeatureCache(out)) == 6 and not list(out.glob("*.tmp.npy"))


def test_bad_sizes_and_no_usable_photos_are_refused(tmp_path, encoder):
    root = tmp_path / "photos"
    root.mkdir()
    assert cv2.imwrite(str(root / "grey.png"), np.full((64, 64, 3), 90, np.uint8))
    with pytest.raises(ExemplarError, match="multiple of 32"):
        build_cache([(str(root / "grey.png"), -1)], tmp_path / "a", size=100, encoder=encoder)
    with pytest.raises(ExemplarError, match="no usable colour photos"):
        build_cache([(str(root / "grey.png"), -1)], tmp_path / "b", size=64, encoder=encoder, progress=None)
    with pytest.raises(ExemplarError, match="not a complete feature cache"):
        FeatureCache(tmp_path / "nothing")


def test_cache_command(tmp_path, encoder, monkeypatch):
    from data_prep.__main__ import main

    monkeypatch.setattr("exemplar.model.encoder.EfficientNetLite0", lambda **kwargs: encoder)  # no ImageNet load
    root = write_photos(tmp_path / "photos", per_class=2)
    result = CliRunner().invoke(main, ["cache", str(root), str(tmp_path / "cache"), "--size", "64", "--classes", "sea"])
    assert result.exit_code == 0, result.output
    assert "cached 2 photos" in result.output and "skipped 1" in result.output  # the grey one in sea/
    assert FeatureCache(tmp_path / "cache").class_names == ["sea"]
    result = CliRunner().invoke(main, ["cache", str(root), str(tmp_path / "bad"), "--size", "50"])
    assert result.exit_code == 1 and "multiple of 32" in result.output


def test_group_of_is_the_first_folder_below_the_root(tmp_path):
    assert feature_cache.group_of(tmp_path / "scenes" / "forest" / "1.jpg", tmp_path) == "scenes"
    assert feature_cache.group_of(tmp_path / "faces" / "2.jpg", tmp_path) == "faces"
    assert feature_cache.group_of(tmp_path / "3.jpg", tmp_path) == ""
    assert feature_cache.group_of("/elsewhere/4.jpg", tmp_path) == ""


def test_lite2_cache_has_its_channels_and_names_its_encoder(tmp_path, monkeypatch):
    from data_prep.__main__ import main
    from exemplar.model.encoder import EfficientNetLite

    keras.utils.set_random_seed(0)
    lite2 = EfficientNetLite(variant="lite2", include_top=False, weights=None)
    built_with = []
    monkeypatch.setattr("exemplar.model.encoder.EfficientNetLite", lambda **kwargs: built_with.append(kwargs) or lite2)
    root = write_photos(tmp_path / "photos", per_class=2)
    result = CliRunner().invoke(main, ["cache", str(root), str(tmp_path / "cache"), "--size", "64", "--encoder", "lite2"])
    assert result.exit_code == 0, result.output
    assert built_with == [{"variant": "lite2", "include_top": False, "weights": "imagenet"}]
    cache = FeatureCache(tmp_path / "cache")
    assert cache.encoder == "lite2" and cache.meta["encoder"] == "lite2"
    channels = {"s4": 24, "s8": 48, "s16": 120, "s32": 352}
    assert feature_cache.levels("lite2") == {name: (LEVELS[name][0], c) for name, c in channels.items()}
    for name, c in channels.items():
        stride = LEVELS[name][0]
        assert cache.arrays[name].shape == (4, 2, 64 // stride, 64 // stride, c)
        assert cache.crop(1, 1, 0, 1, 1)[name].shape == (32 // stride, 32 // stride, c)
    # The stored features are that encoder's.
    lab = feature_cache._load_square(cache.meta["files"][0], 64)
    expected = lite2(np.repeat(lab[..., :1] * 2.55, 3, axis=-1)[None], training=False)["stride32"]
    np.testing.assert_allclose(cache.arrays["s32"][0, 0].astype(np.float32), np.asarray(expected)[0], rtol=2e-3, atol=1e-3)
    # A model given directly names its own variant.
    meta = build_cache([(cache.meta["files"][0], -1)], tmp_path / "direct", size=64, encoder=lite2, progress=None)
    assert meta["encoder"] == "lite2"
    with pytest.raises(ExemplarError, match="lite7"):
        build_cache([(cache.meta["files"][0], -1)], tmp_path / "bad", size=64, encoder="lite7", progress=None)


def test_caches_without_an_encoder_key_are_lite0(built, tmp_path):
    import shutil

    _, out, meta = built
    assert meta["encoder"] == "lite0" and FeatureCache(out).encoder == "lite0"
    old = tmp_path / "old"
    shutil.copytree(out, old)
    # a cache written before the key existed
    (old / "meta.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "encoder"}))
    assert FeatureCache(old).encoder == "lite0"
