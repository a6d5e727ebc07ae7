"""Compiler from a normalised ONNX graph to an R1CS and its witness.

Each op (``ops.py``) maps quantized input tensors (``QTensor``: a Signal, its fixed-point
fraction bits and worst-case integer bounds) to outputs, emitting constraints only where the
computation is non-linear. Bounds are propagated by interval arithmetic from the range-checked
input, so they hold for every input a prover could supply, not just the calibration data.
"""
