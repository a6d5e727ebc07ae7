"""The circuit frontend: build an R1CS and its witness together from integer tensors.

Gadgets (``gadgets/``) emit constraints and compute the values those constraints enforce in the
same call, so the witness cannot drift from the constraints; the fixed-point rules they share
(rounding, rescaling) are written once in ``fixedpoint.py``. A builder made with ``emit=False``
only computes values: the same code then serves as the witness program for each new input.
"""
