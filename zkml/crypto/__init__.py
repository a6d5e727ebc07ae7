"""Readable reference maths for BN254: constants, integer/limb conversions, points as ints.

Everything here is slow and obvious on purpose; the engines are the fast versions and are
tested against this and against py_ecc.
"""
