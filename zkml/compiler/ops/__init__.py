"""Operator implementations: ONNX node -> quantized outputs, constraints through the builder.

One module per op family (``linear``, ``pooling``, ``shape``, ``elementwise``, ``tables``,
``normalization``) and ``registry.OPS`` naming them all. Linear ops only build linear
combinations; ``normalize`` rescales a product back to the activation scale (the rescale
gadget), and Relu/Clip/LeakyRelu/MaxPool use the max gadgets.
"""

from zkml.compiler.ops.common import (MAX_OP_TERMS, Context, OpError, _check_bounds, _pads, _windows,  # noqa: F401
                                      normalize, weight_frac)
from zkml.compiler.ops.registry import OPS  # noqa: F401
from zkml.compiler.ops.tables import PWL, pwl_error  # noqa: F401
