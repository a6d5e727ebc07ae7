"""The Fiat-Shamir challenge of two-round (lookup) Groth16, as every verifier recomputes it.

    vk_digest = keccak256(VK_TAG || alpha1 || beta2 || gamma2 || delta2 || delta_round2
                          || u256(len(IC)) || IC_0 || IC_1 || ...)
    challenge = uint256(keccak256(TAG || vk_digest || public_0 || ... || public_{n-1}
                                  || D.x || D.y)) mod r

Every item is a 32-byte big-endian word: TAG and VK_TAG are the ASCII strings below, padded
with zero bytes on the right (a Solidity ``bytes32`` literal); a G1 point is x, y; a G2 point
is x.c1, x.c0, y.c1, y.c0 (EIP-197's order, x = x.c0 + x.c1 u); the identity is all zeros.
The public signals are the claim's own (public.json), without the challenge.

Hashing the key and the public inputs with D matters: with D alone, a prover who chooses a
public looked-up value could pick it after seeing the challenge and solve the LogUp equation.
The generated Solidity verifier computes the same bytes with ``abi.encodePacked``.
"""

from __future__ import annotations

from eth_hash.auto import keccak

from zkml.crypto.bn254 import R

TAG = b"zkml.groth16-lookup.v1"
VK_TAG = b"zkml.groth16-lookup.vk.v1"


def _word(x: int) -> bytes:
    return int(x).to_bytes(32, "big")


def _tag(t: bytes) -> bytes:
    return t.ljust(32, b"\0")


def _g1(p) -> bytes:
    return b"\0" * 64 if p is None else _word(p[0]) + _word(p[1])


def _g2(p) -> bytes:
    if p is None:
        return b"\0" * 128
    (x0, x1), (y0, y1) = p
    return _word(x1) + _word(x0) + _word(y1) + _word(y0)


def vk_digest(vk) -> bytes:
    """keccak256 of the lookup verifying key (see the module docstring for the layout)."""
    if vk.delta_round2 is None:
        raise ValueError("a plain Groth16 key has no challenge")
    parts = [_tag(VK_TAG), _g1(vk.alpha1), _g2(vk.beta2), _g2(vk.gamma2), _g2(vk.delta2),
             _g2(vk.delta_round2), _word(len(vk.ic))] + [_g1(p) for p in vk.ic]
    return keccak(b"".join(parts))


def challenge(vk, public: list[int], d, digest: bytes | None = None) -> int:
    """The challenge for ``public`` (the claim's signals) and the commitment ``d`` under ``vk``;
    ``digest`` saves rehashing the key when it is known."""
    digest = vk_digest(vk) if digest is None else digest
    data = _tag(TAG) + digest + b"".join(_word(x) for x in public) + _g1(d)
    return int.from_bytes(keccak(data), "big") % R
