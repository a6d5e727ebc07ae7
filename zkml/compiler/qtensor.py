"""Quantized tensors flowing through the compiler."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkml.circuit.builder import Signal

# Every intermediate integer must stay below this bound: values live in int64 while the witness
# is computed, and far below r/2 (~2^253), so nothing can wrap around the field.
MAX_BITS = 60


@dataclass
class QTensor:
    signal: Signal
    frac: int  # value = integer / 2^frac
    lo: np.ndarray  # worst-case integer bounds, same shape as the values
    hi: np.ndarray

    @property
    def shape(self) -> tuple:
        return self.signal.shape

    @property
    def values(self) -> np.ndarray:
        return self.signal.values
