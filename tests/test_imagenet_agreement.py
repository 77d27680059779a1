"""ImageNetAgreement: the top-1 judge of benchmarks/quality.py, with a choice of classifier."""

import numpy as np
import pytest
import skimage.data

from exemplar.evaluation.imagenet_agreement import ImageNetAgreement, _prepare

CAT_CLASSES = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def test_lite2_judge_sees_its_own_input_size_and_classes():
    judge = ImageNetAgreement("lite2")
    assert judge.judge == "lite2" and judge.crop == 260 and judge.model.variant == "lite2"
    cat, coffee = (image.astype(np.float32) / 255.0 for image in (skimage.data.chelsea(), skimage.data.coffee()))
    assert int(judge.top1([cat])[0]) in CAT_CLASSES
    assert judge.agree(cat, cat) == 1.0 and judge.agree(coffee, cat) == 0.0
    shared = ImageNetAgreement("lite2", classifier=judge.model)  # a classifier to share is used, not rebuilt
    assert shared.model is judge.model and shared.agree(cat[:, ::-1], cat) == 1.0


def test_prepare_crops_each_judges_side_and_unknown_judges_are_refused():
    rgb = np.random.default_rng(0).uniform(0, 1, (120, 200, 3)).astype(np.float32)
    assert _prepare(rgb).shape == (224, 224, 3)  # Lite0's side, the default
    assert _prepare(rgb, 260).shape == (260, 260, 3)
    assert 0.0 <= _prepare(rgb, 260).min() and _prepare(rgb, 260).max() <= 255.0
    with pytest.raises(ValueError, match="variant"):
        ImageNetAgreement("lite5")
