"""EfficientNet-Lite0/1/2 port: checkpoint reader, feature shapes, ImageNet predictions, serialization."""

import math
import pickle

import cv2
import keras
import numpy as np
import pytest
import skimage.data

from exemplar.model import lite0_checkpoint
from exemplar.model import encoder as encoder_module
from exemplar.model.encoder import VARIANTS, EfficientNetLite, EfficientNetLite0, build_encoder, feature_channels
from exemplar.core.errors import ExemplarError

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
    monkeypatch.setitem(lite0_checkpoint.CHECKPOINTS, "lite2", ("no_such_weights_package", "x.pth"))
    with pytest.raises(ExemplarError, match="no_such_weights_package"):
        lite0_checkpoint.checkpoint_path("lite2")
    with pytest.raises(ExemplarError, match="lite9"):
        lite0_checkpoint.checkpoint_path("lite9")


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


# --- Lite1 and Lite2 -------------------------------------------------------------------------------


def test_variant_table_is_what_the_checkpoints_say():
    """Blocks per stage and widths of each variant, read off its checkpoint's keys and shapes."""
    for variant, spec in VARIANTS.items():
        stages = encoder_module.stages_from_state_dict(lite0_checkpoint.load_state_dict(variant))
        assert tuple(stage[3] for stage in stages) == spec.repeats, variant
        assert tuple(stage[2] for stage in stages) == spec.widths, variant
        kernels_expands = tuple((k, e) for k, _, e in encoder_module.STAGE_KERNEL_STRIDE_EXPAND)
        assert tuple(stage[:2] for stage in stages) == kernels_expands, variant
    assert feature_channels("lite2") == {"s4": 24, "s8": 48, "s16": 120, "s32": 352}
    assert feature_channels("lite1") == feature_channels("lite0") == {"s4": 24, "s8": 40, "s16": 112, "s32": 320}
    assert [encoder_module.input_size(v) for v in ("lite0", "lite1", "lite2")] == [224, 240, 260]


@pytest.mark.parametrize("variant", ["lite0", "lite1", "lite2"])
def test_variant_shapes_and_serialization(variant, tmp_path):
    model = EfficientNetLite(variant=variant, include_top=True, weights=None)
    blocks = {layer.name[:7] for layer in model.layers if layer.name.startswith("block")}
    assert len(blocks) == sum(VARIANTS[variant].repeats)  # 16 blocks for Lite0, 21 for Lite1/2
    image = np.random.default_rng(2).uniform(0, 255, (1, 64, 32, 3)).astype(np.float32)
    outputs = model(image, training=False)
    for name, channels in feature_channels(variant).items():
        stride = int(name[1:])
        assert tuple(outputs[name.replace("s", "stride")].shape) == (1, 64 // stride, 32 // stride, channels)
    assert tuple(outputs["logits"].shape) == (1, 1000)
    config = model.get_config()
    assert config["variant"] == variant
    assert EfficientNetLite.from_config(config).get_config() == config
    path = tmp_path / f"{variant}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is EfficientNetLite and loaded.variant == variant
    for key, value in outputs.items():
        np.testing.assert_allclose(loaded(image, training=False)[key], value, rtol=1e-5, atol=1e-5)


def test_lite0_class_is_the_lite0_variant():
    assert "variant" not in EfficientNetLite0(weights=None).get_config()  # saved configs read as before
    assert EfficientNetLite0(weights=None).variant == "lite0"
    assert type(build_encoder("lite0", weights=None)) is EfficientNetLite0
    assert type(build_encoder("lite2", weights=None)) is EfficientNetLite
    with pytest.raises(ValueError, match="lite0"):
        EfficientNetLite0(weights=None, variant="lite2")
    with pytest.raises(ValueError, match="variant"):
        EfficientNetLite(variant="lite4", weights=None)


def test_real_lite2_checkpoint_fills_every_layer():
    """Every model variable gets a checkpoint tensor and every checkpoint tensor finds its variable."""
    state = lite0_checkpoint.load_state_dict("lite2")
    model = EfficientNetLite(variant="lite2", include_top=True, weights="imagenet")
    tensors = [k for k in state if not k.endswith("num_batches_tracked")]
    assert len(model.weights) == len(tensors) == 322  # one-to-one (set_weights fills a whole layer or raises)
    np.testing.assert_array_equal(model.get_layer("block20_project_bn").moving_variance, state["_blocks.20._bn2.running_var"])
    np.testing.assert_array_equal(model.get_layer("logits").bias, state["_fc.bias"])
    logits = keras.ops.convert_to_numpy(model(photo_224(skimage.data.chelsea()), training=False)["logits"])[0]
    assert int(np.argmax(logits)) in CAT_CLASSES


def test_checkpoint_of_another_shape_is_refused(monkeypatch):
    lite2 = lite0_checkpoint.load_state_dict("lite2")
    monkeypatch.setattr(encoder_module, "load_state_dict", lambda variant: lite2)  # Lite2's file for Lite1
    with pytest.raises(ExemplarError, match="stages"):
        EfficientNetLite(variant="lite1", weights="imagenet")
    extra = dict(lite2, **{"_extra.weight": np.zeros(3, np.float32)})
    monkeypatch.setattr(encoder_module, "load_state_dict", lambda variant: extra)
    with pytest.raises(ExemplarError, match="no layer takes"):
        EfficientNetLite(variant="lite2", weights="imagenet")
