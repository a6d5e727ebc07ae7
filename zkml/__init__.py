"""zkml: zero-knowledge proofs about machine-learning models (Groth16 over BN254)."""

__version__ = "0.1.0"
