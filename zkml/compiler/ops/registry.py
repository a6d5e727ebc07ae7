"""The op registry: ONNX op type -> implementation ``(ctx, node, *inputs) -> QTensor``.
Every op the compiler accepts is listed here and nowhere else (the loader refuses the rest)."""

from __future__ import annotations

from zkml.compiler.ops import elementwise, linear, normalization, pooling, shape, tables

OPS = {
    "Gemm": linear.op_gemm, "MatMul": linear.op_matmul, "Conv": linear.op_conv,
    "BatchNormalization": normalization.op_batchnorm,
    "Add": elementwise.op_add, "Sub": elementwise.op_sub, "Mul": elementwise.op_mul, "Div": elementwise.op_div,
    "Relu": elementwise.op_relu, "LeakyRelu": elementwise.op_leaky_relu, "Clip": elementwise.op_clip,
    "Sigmoid": tables.op_sigmoid, "Tanh": tables.op_tanh,
    "MaxPool": pooling.op_maxpool, "AveragePool": pooling.op_avgpool, "GlobalAveragePool": pooling.op_global_avgpool,
    "Flatten": shape.op_reshape, "Reshape": shape.op_reshape, "Squeeze": shape.op_reshape, "Unsqueeze": shape.op_reshape,
    "Transpose": shape.op_transpose, "Concat": shape.op_concat, "Identity": shape.op_identity,
    "Dropout": shape.op_identity, "Cast": shape.op_cast,
    "Softmax": shape.op_output_only, "ArgMax": shape.op_output_only,
}
