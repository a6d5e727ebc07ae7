"""Normalization layers with constant statistics: BatchNormalization is a per-channel affine
map (no constraints until the rescale)."""

from __future__ import annotations

import numpy as np

from zkml.compiler.ops.common import _channel_affine


def op_batchnorm(ctx, node, x):
    gamma, beta, mean, var = (ctx.const(n) for n in node.inputs[1:5])
    eps = node.attrs.get("epsilon", 1e-5)
    scale = gamma / np.sqrt(var + eps)
    return _channel_affine(ctx, x, scale, beta - mean * scale)


def op_instancenorm(ctx, node, x):
    from zkml.compiler.ops.common import OpError

    raise OpError(f"{ctx.graph.source}: InstanceNormalization node '{node.name}' divides by the square root of "
                  "each channel's variance, which needs a lookup table (not yet in zkml)")
