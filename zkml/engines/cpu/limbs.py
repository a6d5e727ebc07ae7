"""64-bit limb primitives numba cannot express in Python: 64x64->128 multiply-accumulate, add
with carry, subtract with borrow. Each is a few lines of LLVM IR on i128, which LLVM lowers to
``mulx``/``adc``/``sbb``; everything else in the CPU engine is plain numba on top of these."""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_PAIR = types.UniTuple(types.uint64, 2)
_I64 = ir.IntType(64)
_I128 = ir.IntType(128)


def _split(builder, wide):
    lo = builder.trunc(wide, _I64)
    hi = builder.trunc(builder.lshr(wide, ir.Constant(_I128, 64)), _I64)
    return lo, hi


@intrinsic
def mac(typingctx, a, b, c, carry):
    """(lo, hi) of a + b*c + carry; never overflows 128 bits."""
    sig = _PAIR(types.uint64, types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        a_, b_, c_, k_ = (builder.zext(v, _I128) for v in args)
        wide = builder.add(builder.add(builder.mul(b_, c_), a_), k_)
        return context.make_tuple(builder, signature.return_type, _split(builder, wide))

    return sig, codegen


@intrinsic
def adc(typingctx, a, b, carry):
    """(sum, carry_out) of a + b + carry."""
    sig = _PAIR(types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        a_, b_, k_ = (builder.zext(v, _I128) for v in args)
        wide = builder.add(builder.add(a_, b_), k_)
        return context.make_tuple(builder, signature.return_type, _split(builder, wide))

    return sig, codegen


@intrinsic
def sbb(typingctx, a, b, borrow):
    """(difference, borrow_out in {0, 1}) of a - b - borrow."""
    sig = _PAIR(types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        a_, b_, k_ = (builder.zext(v, _I128) for v in args)
        wide = builder.sub(builder.sub(a_, b_), k_)
        lo, hi = _split(builder, wide)
        return context.make_tuple(
            builder, signature.return_type, (lo, builder.and_(hi, ir.Constant(_I64, 1)))
        )

    return sig, codegen
