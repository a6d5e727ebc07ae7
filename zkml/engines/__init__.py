"""Prover engines: the same ``prove(pk, witness, *, r=None, s=None) -> Proof`` on each device.

``cpu`` is numba-compiled Python on 64-bit limbs and is the reference the others must match
bit for bit. Engines know numbers and points only: no files, no R1CS, no CLI.
"""
