"""Scale-out on Ray: many proofs across worker processes and machines (we write no scheduler)."""
