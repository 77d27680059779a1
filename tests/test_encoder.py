"""EfficientNet-Lite0 port: checkpoint reader, feature shapes, ImageNet predictions, serialization."""

import math
import pickle

import cv2
import keras
import numpy as np
import pytest
import skimage.data

from exemplar import lite0_checkpoint
from exemplar.encoder import EfficientNetLite0
from exemplar.errors import ExemplarError

CHANNELS = {"stride4": 24, "stride8": 40, "stride16": 112, "stride32": 320}
STRIDES = {"stride4": 4, "stride8": 8, "stride16": 16, "stride32": 32}
CAT_CLASSES = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = {967, 968}  # espresso, cup


@pytest.fixture(scope="module")
def imagenet_models():
    """(backbone, classifier) with ImageNet weights, built from an empty cache while counting file reads."""
    reads = []
    real_reader = lite0_checkpoint._read_legacy_checkpoint

    def counting_reader(path):
        reads.append(path)
        return real_reader(path)

    lite0_checkpoint._cached_state_dict.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lite0_checkpoint, "_read_legacy_checkpoint", counting_reader)
        backbone = EfficientNetLite0(include_top=False, weights="imagenet")
        classifier = EfficientNetLite0(include_top=True, weights="imagenet")
    return backbone, classifier, reads


def photo_224(image):
    return cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32)[None]  # (1, 224, 224, 3)


def test_checkpoint_read_once_for_two_models(imagenet_models):
    _, _, reads = imagenet_models
    assert len(reads) == 1
    assert lite0_checkpoint.read_count() == 1
    lite0_checkpoint.load_lite0_state_dict()
    assert lite0_checkpoint.read_count() == 1


def test_state_dict_contents():
    state = lite0_checkpoint.load_lite0_state_dict()
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_blocks.3._depthwise_conv.weight"].shape == (144, 1, 5, 5)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn1.running_var"].min() > 0  # variances: a mis-read storage would give junk here
    assert not state["_fc.bias"].flags.writeable  # shared through the cache
    del state["_fc.bias"]  # each call gets its own dict
    assert "_fc.bias" in lite0_checkpoint.load_lite0_state_dict()


def test_bad_checkpoints_raise(tmp_path, monkeypatch):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint at all")
    truncated = tmp_path / "truncated.pth"
    with open(lite0_checkpoint.checkpoint_path(), "rb") as f:
        truncated.write_bytes(f.read(200_000))
    header = [0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}]
    evil = tmp_path / "evil.pth"  # right header, but the state dict pickle calls a global: must not run
    evil.write_bytes(b"".join(pickle.dumps(v, 2) for v in header + [math.sqrt]))
    evil_header = tmp_path / "evil_header.pth"
    evil_header.write_bytes(b"".join(pickle.dumps(v, 2) for v in header[:2] + [math.sqrt]))
    for path in (garbage, truncated, evil, evil_header):
        with pytest.raises(ExemplarError, match=path.name):
            lite0_checkpoint._read_legacy_checkpoint(str(path))
    monkeypatch.setattr(lite0_checkpoint, "PACKAGE", "no_such_weights_package")
    with pytest.raises(ExemplarError, match="no_such_weights_package"):
        lite0_checkpoint.checkpoint_path()


@pytest.mark.parametrize("height, width", [(64, 96), (50, 70)])
def test_feature_shapes_and_strides(height, width):
    model = EfficientNetLite0(include_top=False, weights=None)
    outputs = model(np.random.default_rng(0).uniform(0, 255, (2, height, width, 3)).astype(np.float32))
    assert set(outputs) == set(CHANNELS)
    for key, channels in CHANNELS.items():  # TF "same" padding: ceil(size / stride)
        expected = (2, math.ceil(height / STRIDES[key]), math.ceil(width / STRIDES[key]), channels)
        assert tuple(outputs[key].shape) == expected, key


def test_classifier_on_photos(imagenet_models):
    backbone, classifier, _ = imagenet_models
    for image, classes in ((skimage.data.chelsea(), CAT_CLASSES), (skimage.data.coffee(), COFFEE_CLASSES)):
        outputs = classifier(photo_224(image), training=False)
        logits = keras.ops.convert_to_numpy(outputs["logits"])[0]
        assert logits.shape == (1000,)
        assert int(np.argmax(logits)) in classes
    # The backbone without the head carries the same weights, hence the same features.
    features = backbone(photo_224(skimage.data.coffee()), training=False)
    np.testing.assert_allclose(features["stride32"], outputs["stride32"], rtol=1e-5, atol=1e-5)


def test_rejects_unknown_weights():
    with pytest.raises(ValueError, match="weights"):
        EfficientNetLite0(weights="cifar")


def test_get_config_round_trip():
    model = EfficientNetLite0(include_top=True, weights=None, name="lite0")
    config = model.get_config()
    clone = EfficientNetLite0.from_config(config)
    assert clone.get_config() == config
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert "block03_dw_conv" in {layer.name for layer in model.layers}


def test_keras_file_round_trip_keeps_saved_weights(tmp_path):
    model = EfficientNetLite0(include_top=False, weights="imagenet")
    kernel = model.get_layer("stem_conv").kernel
    kernel.assign(keras.ops.convert_to_numpy(kernel) * 0.5)  # "fine-tuned": differs from ImageNet
    path = tmp_path / "lite0.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, EfficientNetLite0)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.get_layer("stem_conv").kernel, kernel)  # saved weights win
    image = np.random.default_rng(1).uniform(0, 255, (1, 32, 32, 3)).astype(np.float32)
    for key, value in model(image, training=False).items():
        np.testing.assert_allclose(loaded(image, training=False)[key], value, rtol=1e-5, atol=1e-5)
