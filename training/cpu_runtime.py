"""TensorFlow's CPU runtime settings for training, applied before TensorFlow is imported.

Two process-wide settings, each only a default (a value already in the environment wins):

- ``TF_CPU_ALLOCATOR_USE_BFC=true``: tensors come from TensorFlow's pooling (BFC) allocator instead of
  malloc. A training step allocates and frees tensors of megabytes (a (16, 32, 32, 258) float32 is
  17 MB) hundreds of times; malloc hands those back to the kernel and touches fresh pages the next
  time, which on the 2-core VM cost a minor page fault per 4 KB page (33,000 faults and ~100 ms of
  system time for one soft encoding of a batch). Same numbers: losses and gradients bitwise equal.
- ``TF_ENABLE_ONEDNN_OPTS=1``: oneDNN kernels for convolutions, matmuls and softmax. TensorFlow turns
  them on by itself only on CPUs with AVX-512 class features; on an AVX2 CPU (this VM) it otherwise
  runs Eigen kernels built without AVX2/FMA. Different summation orders: losses agree to 1e-6 and
  gradients to 4e-6 relative (L2 per variable; docs/model.md, "Training throughput").

Measured on the 2-core VM (benchmarks/train_throughput.py, cpu preset, cached features, idle, s a step
of 16): 1.757 and 1.697 with neither; 0.877 with the allocator; 0.586 with both and the soft encoding's
window search; 0.544 and 0.533 with the reference distribution also cut from the backward pass.

``has_bfloat16()`` tells whether the CPU has bfloat16 instructions (AVX512-BF16 or AMX-BF16): there
``train.precision=mixed_bfloat16`` trained 1.3-1.5x faster (docs/training.md); ``exemplar train`` says so.
"""

import os
import sys

DEFAULTS = {"TF_CPU_ALLOCATOR_USE_BFC": "true", "TF_ENABLE_ONEDNN_OPTS": "1"}
BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo names of native bfloat16 arithmetic


def configure():
    """Set the defaults above; returns the names it set. Both are read when TensorFlow starts: once it
    is imported (a test process, a notebook) this sets nothing and returns []."""
    if "tensorflow" in sys.modules:
        return []
    missing = {name: value for name, value in DEFAULTS.items() if name not in os.environ}
    os.environ.update(missing)
    return sorted(missing)


def has_bfloat16(cpuinfo="/proc/cpuinfo"):
    """True when the CPU lists a bfloat16 instruction set in ``cpuinfo`` (Linux); False where the file
    is missing or unreadable (another system: nothing is claimed)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as file:
            flags = {flag for line in file if line.startswith("flags") for flag in line.split(":", 1)[-1].split()}
    except OSError:
        return False
    return any(flag in flags for flag in BFLOAT16_FLAGS)
