"""The ``net`` method: model files without the encoder, loading, and inference contracts."""

import numpy as np
import pytest

from exemplar.encoder import EfficientNetLite0
from exemplar.errors import ExemplarError
from exemplar.generator_weights import load_generator, own_variables, save_generator
from exemplar.net.gray2color_net import Gray2ColorNet


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small untrained generator saved as a shippable model; its correction heads randomised."""
    generator = Gray2ColorNet(encoder=EfficientNetLite0(weights="imagenet"), width=8, hist_bins=11)
    for i, variable in enumerate(own_variables(generator).values()):
        if "delta" in variable.path:
            variable.assign(np.random.default_rng(i).normal(0, 0.01, variable.shape).astype("float32"))
    folder = tmp_path_factory.mktemp("model")
    save_generator(generator, folder, info={"steps": 0})
    return folder, generator


def test_saved_model_has_no_encoder_weights_and_loads_back(model_dir):
    folder, generator = model_dir
    with np.load(folder / "default.npz") as arrays:
        assert not set(arrays.files) & {v.path for v in generator.encoder.weights}  # encoder left out
        assert set(arrays.files) == set(own_variables(generator))
    loaded, info = load_generator(folder)
    assert info == {"steps": 0} and loaded.width == 8 and loaded.hist_bins == 11
    for path, variable in own_variables(loaded).items():
        np.testing.assert_array_equal(variable.numpy(), own_variables(generator)[path].numpy())


def test_missing_or_mismatched_model_files_are_named(model_dir, tmp_path):
    with pytest.raises(ExemplarError, match="default.json: model file not found"):
        load_generator(tmp_path)
    folder, _ = model_dir
    (tmp_path / "default.json").write_text((folder / "default.json").read_text().replace('"width": 8', '"width": 16'))
    (tmp_path / "default.npz").write_bytes((folder / "default.npz").read_bytes())
    with pytest.raises(ExemplarError, match="has shape"):
        load_generator(tmp_path)


def test_net_method_end_to_end(model_dir, photo_grey, photo_rgb):
    from exemplar.color import rgb_to_lab
    from exemplar.colorizer import Colorizer

    folder, _ = model_dir
    colorizer = Colorizer(method="net", size=64, weights=folder)
    assert colorizer.method.encoder is colorizer.method.model.encoder  # shared with reference search
    out = colorizer.colorize(photo_grey, [photo_rgb, photo_rgb[::-1]])  # two references side by side
    assert out.shape == (48, 64, 3)
    grey_l = rgb_to_lab(np.repeat(photo_grey[..., None], 3, -1))[..., 0]
    assert np.abs(rgb_to_lab(out)[..., 0] - grey_l).max() < 0.1
    assert np.hypot(*np.moveaxis(rgb_to_lab(out)[..., 1:], -1, 0)).mean() > 3
    sepia = colorizer.colorize(photo_grey, palette="sepia")
    assert np.isfinite(sepia).all() and sepia.shape == (48, 64, 3)
    assert colorizer.palette_method is not colorizer.method  # palettes go to match's tone assignment
    own = Colorizer(method="net", size=64, weights=folder, net_palette=True)
    assert own.palette_method is own.method
    assert not np.allclose(own.colorize(photo_grey, palette="sepia"), sepia, atol=1e-3)



def test_packaged_default_model_loads_offline_and_colorizes_the_demo():
    """The model ships inside the package (package data) and needs nothing from the network."""
    from importlib.resources import files

    from exemplar.color import rgb_to_lab
    from exemplar.colorizer import Colorizer
    from exemplar.image_io import read_image

    demo = files("exemplar") / "demo"
    colorizer = Colorizer(size=128)  # net is the default method
    assert colorizer.method.info["preset"] == "cpu" and colorizer.method.info["steps"] > 0
    assert colorizer.method.trust is not None  # the fitted trust head ships beside the generator
    out = colorizer.colorize(str(demo / "target.jpg"), [str(demo / "reference.jpg")])
    target_l = rgb_to_lab(read_image(str(demo / "target.jpg")).rgb)[..., 0]
    assert out.shape == (300, 451, 3)
    assert np.abs(rgb_to_lab(out)[..., 0] - target_l).max() < 0.1  # luminance kept
    assert np.hypot(*np.moveaxis(rgb_to_lab(out)[..., 1:], -1, 0)).mean() > 5  # visibly coloured
