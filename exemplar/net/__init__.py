"""Network building blocks and models for exemplar-based colorization (Keras 3, keras.ops)."""

from exemplar.net.color_distribution import ColorDistribution
from exemplar.net.gated_fusion import GatedFusion
from exemplar.net.gray2color_net import Gray2ColorNet
from exemplar.net.patch_discriminator import PatchDiscriminator
from exemplar.net.reference_trust import ReferenceTrust
from exemplar.net.residual_block import ResidualBlock
from exemplar.net.semantic_assignment import SemanticAssignment
from exemplar.net.soft_ab_histogram import SoftAbHistogram

__all__ = [
    "ColorDistribution",
    "GatedFusion",
    "Gray2ColorNet",
    "PatchDiscriminator",
    "ReferenceTrust",
    "ResidualBlock",
    "SemanticAssignment",
    "SoftAbHistogram",
]
