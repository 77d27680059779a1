"""Network building blocks and models for exemplar-based colorization (Keras 3, keras.ops)."""

from exemplar.net.color_distribution import ColorDistribution
from exemplar.net.color_head import ColorHead, Correspondence
from exemplar.net.gated_fusion import GatedFusion
from exemplar.net.hint_pool import HintPool
from exemplar.net.patch_discriminator import PatchDiscriminator
from exemplar.net.residual_block import ResidualBlock
from exemplar.net.soft_ab_histogram import SoftAbHistogram
from exemplar.net.soft_encoding import SoftEncoding
from exemplar.net.upsample import Upsample

__all__ = [
    "ColorDistribution",
    "ColorHead",
    "Correspondence",
    "GatedFusion",
    "HintPool",
    "PatchDiscriminator",
    "ResidualBlock",
    "SoftAbHistogram",
    "SoftEncoding",
    "Upsample",
]
