"""Groth16 over BN254: setup (phase 1 and 2), prover front end, and the independent verifier.

Importing this package imports nothing else: the engines import ``data_structures`` from here.
"""
