"""Two small specs the plugin and pre-commit tests check: one clean, one with a finding."""

# Clean: normalised input, padded 3x3 convs with batch norm, global pooling, a small head.
CLEAN = """\
name: tiny
input: [3, 32, 32]
normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
lint: {thresholds: {object_size: 8}}
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1, bias: false}
  - batchnorm2d
  - relu
  - maxpool2d: {kernel: 2, stride: 2}
  - conv2d: {out: 32, kernel: 3, padding: 1, bias: false}
  - batchnorm2d
  - relu
  - global_avgpool
  - flatten
  - linear: {out: 10}
"""

# Almost every parameter in the fully-connected layer on line 10 (CNN101).
FAT = """\
name: fat
input: [3, 32, 32]
normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
lint: {thresholds: {object_size: 3}}
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1, bias: false}
  - batchnorm2d
  - relu
  - flatten
  - linear: {out: 512}
  - relu
  - linear: {out: 10}
"""
