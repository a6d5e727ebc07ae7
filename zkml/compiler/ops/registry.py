"""The op registry: ONNX op type -> implementation ``(ctx, node, *runtime inputs) -> QTensor``
(a list of them for ops with several outputs). Every op the compiler accepts is listed here and
nowhere else (the loader refuses the rest, with ``NEEDS_TABLE``'s reason where one is known)."""

from __future__ import annotations

from zkml.compiler.ops import (arith, contraction, elementwise, linear, masks, normalization, pooling, reduction, shape,
                               softmax, tables)

OPS = {
    "Gemm": linear.op_gemm, "MatMul": contraction.op_matmul, "Einsum": contraction.op_einsum,
    "Conv": linear.op_conv, "ConvTranspose": linear.op_conv_transpose,
    "BatchNormalization": normalization.op_batchnorm, "InstanceNormalization": normalization.op_instancenorm,
    "Add": masks.op_add, "Sub": elementwise.op_sub, "Mul": elementwise.op_mul, "Div": arith.op_div,
    "Sum": elementwise.op_sum, "Mean": elementwise.op_mean, "Max": elementwise.op_max, "Min": elementwise.op_min,
    "Neg": elementwise.op_neg, "Abs": elementwise.op_abs, "Sign": elementwise.op_sign,
    "Relu": elementwise.op_relu, "LeakyRelu": elementwise.op_leaky_relu, "PRelu": elementwise.op_prelu,
    "Clip": elementwise.op_clip,
    "Equal": elementwise.op_compare, "Less": elementwise.op_compare, "Greater": elementwise.op_compare,
    "LessOrEqual": elementwise.op_compare, "GreaterOrEqual": elementwise.op_compare,
    "Not": elementwise.op_not, "And": elementwise.op_and_or, "Or": elementwise.op_and_or,
    "Where": masks.op_where,  # masks: attention masks' -inf fill in front of a Softmax
    "Sigmoid": tables.op_sigmoid, "Tanh": tables.op_tanh,
    "Exp": tables.op_exp, "Log": tables.op_log, "Erf": tables.op_erf, "Gelu": tables.op_gelu,
    "Softplus": tables.op_softplus, "Elu": tables.op_elu, "Celu": tables.op_celu, "Selu": tables.op_selu,
    "Mish": tables.op_mish,
    "Sqrt": arith.op_sqrt, "Reciprocal": arith.op_reciprocal, "Pow": arith.op_pow, "Softsign": arith.op_softsign,
    "HardSigmoid": arith.op_hard_sigmoid, "HardSwish": arith.op_hard_swish,
    "Softmax": softmax.op_softmax, "LogSoftmax": softmax.op_log_softmax,
    "LayerNormalization": normalization.op_layernorm,
    "MaxPool": pooling.op_maxpool, "AveragePool": pooling.op_avgpool, "GlobalAveragePool": pooling.op_global_avgpool,
    "GlobalMaxPool": pooling.op_global_maxpool, "LpPool": pooling.op_lppool, "GlobalLpPool": pooling.op_global_lppool,
    "ReduceSum": reduction.op_reduce_sum, "ReduceL1": reduction.op_reduce_sum,
    "ReduceSumSquare": reduction.op_reduce_sum, "ReduceMean": reduction.op_reduce_mean,
    "ReduceMax": reduction.op_reduce_max, "ReduceMin": reduction.op_reduce_max,
    "Flatten": shape.op_reshape, "Reshape": shape.op_reshape, "Squeeze": shape.op_reshape, "Unsqueeze": shape.op_reshape,
    "Transpose": shape.op_transpose, "Concat": shape.op_concat, "Identity": shape.op_identity,
    "Dropout": shape.op_identity, "Cast": shape.op_cast, "Pad": shape.op_pad, "Slice": shape.op_slice,
    "Split": shape.op_split, "Tile": shape.op_tile, "Expand": shape.op_expand, "Gather": shape.op_gather,
    "ArgMax": shape.op_output_only,
}

# Ops refused, with what each needs (the loader's error says it).
NEEDS_TABLE = {
    "LRN": "a division by (bias + alpha/size * sum x^2)^beta, a fractional power of an unbounded sum: not yet in zkml",
}
