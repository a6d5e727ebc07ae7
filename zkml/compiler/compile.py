"""Compile a model: choose the input's fixed-point range from calibration data, build the R1CS
once, and rebuild values only (the witness program) for each input to prove."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from zkml.circuit import fixedpoint
from zkml.circuit.builder import LC, PRIVATE, PUBLIC_INPUT, PUBLIC_OUTPUT, CircuitBuilder, Signal
from zkml.circuit.gadgets.range_check import range_check_signed
from zkml.circuit.packing import publish_packed
from zkml.compiler.deterministic import ceil_log2, floor_log2, stable
from zkml.compiler.ops import OPS, Context, _check_bounds, normalize
from zkml.compiler.qtensor import QTensor
from zkml.errors import ZkmlError
from zkml.onnx_import.graph import Graph
from zkml.r1cs import R1CS

SUPPORTED_OPS = set(OPS)


@dataclass
class CompileConfig:
    frac_bits: int = 8  # activations: value = integer / 2^frac_bits
    weight_bits: int = 16  # significant bits kept of each weight tensor (per-tensor power-of-two scale)
    input_visibility: str = "public"  # "public": the input is public; "committed": a Poseidon commitment is
    public_signals: str = "packed"  # "packed": packed values are public; "hash": one Poseidon hash of them
    input_margin: float = 1.0  # calibrated input ranges are widened by this fraction of each feature's range
    lookups: bool | None = None  # range checks and activations as LogUp lookups (two-round Groth16); None: DEFAULT_LOOKUPS
    weights: str = "fixed"  # "fixed": circuit constants (the key is the model); "committed": private wires, a salted
    # Poseidon commitment of them is public (the key is the architecture): zkml/compiler/committed_weights.py

    def __post_init__(self):
        if self.lookups is None:
            self.lookups = DEFAULT_LOOKUPS
        if self.weights not in ("fixed", "committed"):
            raise ZkmlError(f"weights visibility must be 'fixed' or 'committed', not {self.weights!r}")

    @property
    def outputs(self) -> str:
        """The outputs' visibility in the shared vocabulary: public (packed) or hashed."""
        return "hashed" if self.public_signals == "hash" else "public"


# The default of ``--lookups``. Off until the two-round prover (zkml/groth16) proves lookup
# circuits end to end; then on (issue 16).
DEFAULT_LOOKUPS = True

# The challenge round 2 is filled with when compiling: the R1CS does not depend on it.
COMPILE_CHALLENGE = 0x5EED_10C4_0F_C4A1_1E96E


@dataclass
class Compiled:
    graph: Graph
    config: CompileConfig
    input_name: str
    input_shape: tuple
    input_bits: int  # signed range check on the quantized input
    input_frac: int = 8  # the input's own scale (features can span many orders of magnitude)
    tensor_fracs: dict = field(default_factory=dict)  # node output -> fraction bits from calibration
    r1cs: R1CS | None = None
    outputs: list = field(default_factory=list)  # (name, shape, frac)
    output_transforms: dict = field(default_factory=dict)
    output_bounds: list = field(default_factory=list)  # per output: (lo, hi) lists, for packing
    stats: list = field(default_factory=list)
    input_range: dict | None = None  # per-feature calibrated range (zkml/compiler/input_range.py)
    cache: dict = field(default_factory=dict, repr=False, compare=False)  # ops' quantized weights, per node
    lookups: dict | None = None  # lookup circuits: {"range_width", "tables": [{name, rows, columns, lookups}]}
    weight_set: object = None  # committed weights: zkml.compiler.committed_weights.WeightSet (the owner's part)
    weights_commitment: int | None = None  # its Poseidon commitment, once built
    architecture_only: bool = False  # loaded from a bundle: committed weights come from the private weights file


def load_for_compile(path) -> Graph:
    from zkml.onnx_import.load import load_model  # onnx is imported only when a model is loaded

    from zkml.compiler.ops.registry import NEEDS_TABLE
    from zkml.onnx_import.load import UnsupportedModel

    try:
        graph = load_model(path, SUPPORTED_OPS, NEEDS_TABLE)
    except UnsupportedModel as e:  # say too whether the model would fit once its ops are supported
        raise UnsupportedModel(f"{e}{_size_note(path)}") from None
    if len(graph.inputs) != 1:
        raise ZkmlError(f"{path}: the model has {len(graph.inputs)} runtime inputs ({', '.join(graph.inputs)}); one is supported")
    return graph


def _size_note(path) -> str:
    """'; besides, ...' when the model's estimated circuit is past the size limits, else ''."""
    from zkml.compiler.estimate import MAX_CONSTRAINTS, MAX_TERMS, estimate_graph
    from zkml.onnx_import.load import load_model

    try:
        est = estimate_graph(load_model(path, None))
    except Exception:  # the estimate is a courtesy: the unsupported ops are the refusal
        return ""
    if est.constraints <= MAX_CONSTRAINTS and est.terms <= MAX_TERMS:
        return ""
    return f"; besides, its circuit would need {est.summary()}, past the 2^24-constraint limit (largest: {est.largest(1)})"


def choose_input_frac(calibration: np.ndarray, frac: int) -> int:
    """Fraction bits for the input: the exact grid of the data when it has one (k <= 12), else
    8 significant bits of its least varying feature, at least the activations' ``frac``, and at
    most what keeps the input within 31 bits."""
    x = calibration.reshape(len(calibration), -1) if calibration.ndim > 1 else calibration[None]
    big = float(np.max(np.abs(x))) if x.size else 0.0
    if not big < 2.0**30:
        raise ZkmlError(f"calibration data reaches |x| = {big:.3g}; inputs must stay below 2^30 "
                        "(normalise the input, or check the data file)")
    for k in range(0, 13):  # data already on a binary grid (pixels / 16, say) quantizes losslessly
        scaled = x * (1 << k)
        if np.array_equal(scaled, np.round(scaled)):
            return k
    std = x.std(axis=0) if len(x) > 1 else np.abs(x[0])
    std = std[std > 0]
    # the std is a float sum whose last bits may differ between machines: rounded first
    f = frac if not std.size else max(frac, 8 - floor_log2(stable(float(std.min()))))
    big = float(np.max(np.abs(x))) if x.size else 1.0
    cap = 30 - ceil_log2(max(big, 1e-9) + 1e-12) if big > 0 else 24
    return int(max(0, min(f, cap, 24)))


def input_range_bits(calibration: np.ndarray, frac: int) -> int:
    """Signed bits for the quantized input: the calibration range with one bit of headroom."""
    m = float(np.max(np.abs(calibration))) if calibration.size else 1.0
    q = int(np.ceil(max(m, 2.0 ** -frac) * (1 << frac)))
    return fixedpoint.bits_for(-q, q) + 1


def quantize_input(c: Compiled, x: np.ndarray, what: str = "input", in_range: bool = False) -> np.ndarray:
    """The input on its fixed-point grid, refused outside the circuit's envelope (and with
    ``in_range``, outside the calibrated per-feature range)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size != int(np.prod(c.input_shape)):
        raise ZkmlError(f"{what}: tensor '{c.input_name}' needs shape {c.input_shape} ({int(np.prod(c.input_shape))} values), got {x.shape}")
    if not np.isfinite(x).all():
        raise ZkmlError(f"{what}: tensor '{c.input_name}' contains NaN or infinity")
    from zkml.compiler.token_ids import check_token_ids

    tokens = check_token_ids(c.graph, c.input_name, x, what)  # ids checked against their tables, by position
    if in_range and not tokens:
        from zkml.compiler.input_range import check_input_range

        check_input_range(c.input_range, x, what, c.input_shape)
    q = fixedpoint.quantize(x.reshape(c.input_shape), c.input_frac)
    limit = 1 << (c.input_bits - 1)
    if (q < -limit).any() or (q >= limit).any():
        worst = float(np.max(np.abs(x)))
        raise ZkmlError(
            f"{what}: tensor '{c.input_name}' has |x| = {worst:g}, outside the calibrated range "
            f"(|x| < {limit / (1 << c.input_frac):g}); recompile with calibration data that covers it")
    return q


# ops written for one sample: their first input's leading dimension must be the batch of 1
BATCH_ONE_OPS = frozenset({"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                           "LpPool", "BatchNormalization", "InstanceNormalization", "LRN"})


def run_graph(b: CircuitBuilder, c: Compiled, xq: np.ndarray, tensors: dict | None = None):
    """The input as range-checked private wires and the graph on them: (input wires, input
    signal, normalized output tensors). Shared by inference and evaluation circuits.
    ``tensors``, when given, receives every node output (QTensor) by name (per-node fidelity)."""
    from zkml.compiler.ops import MAX_OP_TERMS

    if xq.size * c.input_bits > MAX_OP_TERMS:
        raise ZkmlError(f"{c.graph.source}: input '{c.input_name}' of shape {tuple(xq.shape)} needs "
                        f"{xq.size * c.input_bits:,} range-check bits, more than a circuit can hold; use a smaller input")
    cfg = c.config
    x_wires = b.alloc(xq, PRIVATE)
    x = Signal(LC.of_wires(x_wires) if b.emit else None, xq)
    b.where = f"input '{c.input_name}'"
    range_check_signed(b, x.reshape(-1), c.input_bits)
    limit = 1 << (c.input_bits - 1)
    ctx = Context(b, c.graph, cfg.frac_bits, cfg.weight_bits, cache=c.cache)
    if cfg.weights == "committed":
        from zkml.compiler.committed_weights import WeightSet, WeightWires

        if c.weight_set is None:
            if c.architecture_only:
                raise ZkmlError(f"{c.graph.source}: a --weights committed bundle proves with its private weights "
                                "file (private/weights.npz); pass --weights FILE")
            c.weight_set = WeightSet()
        if getattr(b, "weight_wires", None) is None:  # an evaluation's later samples share the first's wires
            b.weight_wires = WeightWires(b, c.weight_set, cfg.weight_bits, c.graph.source,
                                         quantize=not c.architecture_only)
        ctx.committed = b.weight_wires
    ctx.tensors[c.input_name] = QTensor(x, c.input_frac, np.full(xq.shape, -limit, np.int64), np.full(xq.shape, limit - 1, np.int64))
    for node in c.graph.nodes:
        b.where = node.name
        ctx.frac = c.tensor_fracs.get(node.outputs[0], cfg.frac_bits)
        before = b.n_constraints
        args = [ctx.tensors[i] for i in node.inputs if i and i in ctx.tensors]
        if not args:
            raise ZkmlError(f"{c.graph.source}: node '{node.name}' ({node.op}) has no runtime input")
        if node.op in BATCH_ONE_OPS and args[0].shape and args[0].shape[0] != 1:
            raise ZkmlError(f"{c.graph.source}: node '{node.name}' ({node.op}) gets input of shape "
                            f"{tuple(args[0].shape)}: zkml's {node.op} proves one sample (batch 1); export the "
                            "model with batch 1")
        try:
            result = OPS[node.op](ctx, node, *args)
            outs = result if isinstance(result, list) else [result]  # ops with several outputs return a list
            outs = [_check_bounds(ctx, node, t) for t in outs]
        except ZkmlError as e:
            if not str(e).startswith(c.graph.source):  # a gadget's message names the node, not the file
                e.args = (f"{c.graph.source}: {e}",) + e.args[1:]
            raise
        except Exception as e:  # an op meeting a shape or attribute it was not written for
            raise _node_failure(c.graph, ctx, node, e) from e
        for name, t in zip(node.outputs, outs):
            if name:
                ctx.tensors[name] = t
        out = outs[0]
        ctx.stats.append(dict(node=node.name, op=node.op, shape=list(out.shape), frac=out.frac,
                              lo=int(out.lo.min()), hi=int(out.hi.max()), constraints=b.n_constraints - before))
    if tensors is not None:
        tensors.update(ctx.tensors)
    b.where = "the outputs"
    outputs = [normalize(ctx, ctx.tensors[name]) for name in c.graph.outputs]
    b.where = None
    c.output_transforms = ctx.output_transforms
    c.stats = ctx.stats
    return x_wires, x, outputs


def _node_failure(graph: Graph, ctx: Context, node, e: Exception) -> ZkmlError:
    """One line for an op that failed on this node: file, node, op, input shapes, the cause."""
    def shape(name):
        if name in ctx.tensors:
            return tuple(ctx.tensors[name].shape)
        return tuple(np.shape(graph.constants[name])) if name in graph.constants else "?"
    shapes = ", ".join(f"'{i}' {shape(i)}" for i in node.inputs if i)
    cause = next((t.strip() for t in str(e).splitlines() if t.strip()), "")
    return ZkmlError(f"{graph.source}: node '{node.name}' ({node.op}) with inputs {shapes} is not supported by zkml's "
                     f"{node.op} ({type(e).__name__}: {cause[:200]}); change the model or report it")


def build(c: Compiled, xq: np.ndarray, emit: bool, salt: int = 0):
    """Run the quantized graph on integer input xq; returns (builder, public output tensors).
    With a committed input, the input wires are private and Poseidon(input, salt) is public.
    The builder has committed round 1; with emit it has also filled round 2 (for the R1CS), a
    values-only one waits for the challenge (``witness_rounds``)."""
    cfg = c.config
    if cfg.input_visibility not in ("public", "committed"):
        raise ZkmlError(f"input visibility must be 'public' or 'committed', not {cfg.input_visibility!r}")
    b = CircuitBuilder(emit=emit, lookups=bool(cfg.lookups))
    x_wires, x, outputs = run_graph(b, c, xq)
    limit = 1 << (c.input_bits - 1)
    hashed = cfg.public_signals == "hash"
    in_kind, out_kind = (PRIVATE, PRIVATE) if hashed else (PUBLIC_INPUT, PUBLIC_OUTPUT)
    public_parts: list[tuple[int, int]] = []  # (wire, value) of what the hash mode hashes
    if cfg.input_visibility == "committed":
        from zkml.circuit.gadgets.poseidon import commit

        cw, cv = commit(b, x_wires, xq, salt)
        if hashed:
            public_parts.append((cw, cv))
        else:
            b.publish(Signal(LC.of_wires(np.array([cw])) if emit else None, np.array([cv], dtype=object)), PUBLIC_INPUT)
    else:
        public_parts += publish_packed(b, x.reshape(-1), np.full(xq.size, -limit), np.full(xq.size, limit - 1), in_kind)
    if cfg.weights == "committed":  # after the input part: public signals are outputs, input, weights
        ww, wv = b.weight_wires.commit()
        c.weights_commitment = int(wv)
        if hashed:
            public_parts.append((ww, wv))
        else:
            b.publish(Signal(LC.of_wires(np.array([ww])) if emit else None, np.array([wv], dtype=object)), PUBLIC_INPUT)
    output_parts: list[tuple[int, int]] = []
    for t in outputs:
        output_parts += publish_packed(b, t.signal.reshape(-1), t.lo, t.hi, out_kind)
    if hashed:  # one public signal: Poseidon(packed outputs, then the input part)
        from zkml.circuit.gadgets.poseidon import chain_hash

        parts = output_parts + public_parts
        hw, hv = chain_hash(b, [w for w, _ in parts], [v for _, v in parts])
        b.publish(Signal(LC.of_wires(np.array([hw])) if emit else None, np.array([hv], dtype=object)), PUBLIC_OUTPUT)
    finish_round1(b)
    c.lookups = None
    if b.challenge_wire is not None:  # lookups are made at the end; each costs a constraint of its node
        c.lookups = b.argument.summary()
        per_node = c.lookups.pop("per_node")
        for s in c.stats:
            s["lookups"] = per_node.get(s["node"], 0)
            s["constraints"] += s["lookups"]
    return b, outputs


def finish_round1(b: CircuitBuilder) -> None:
    """Commit round 1 (after every public wire); when compiling, fill round 2 too."""
    b.commit_round1()
    if b.emit:
        b.round2(COMPILE_CHALLENGE)


ACTIVATION_BITS = 16  # significant bits aimed at for each activation tensor's calibrated range
MAX_EXTRA_FRAC = 8  # per-tensor scales stay within frac_bits .. frac_bits + 8


def calibrated_fracs(graph: Graph, calibration: np.ndarray, frac_bits: int, limit: int = 200) -> dict:
    """Fraction bits per node output from its float range on the calibration data (onnxruntime on
    the normalised model): small-valued tensors get more fraction bits, never fewer than ``frac_bits``."""
    import onnx

    from zkml.onnx_import.oracle import float_oracle

    model = onnx.ModelProto()
    model.CopyFrom(graph.model)
    known = {o.name for o in model.graph.output}
    for node in graph.nodes:
        for o in node.outputs[:1]:
            if o and o not in known:
                model.graph.output.append(onnx.helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None))
    xs = np.asarray(calibration, np.float64)[:limit]
    if not len(xs):
        return {}
    # the reference evaluator would be slow over many samples; without onnxruntime keep the global scale
    oracle, _ = float_oracle(model, xs[0], allow_reference=False, source=graph.source)
    if oracle is None:
        return {}
    peak = {n: 0.0 for n in oracle.output_names}
    try:
        for x in xs:
            for n, v in zip(oracle.output_names, oracle(x)):
                if v.size:
                    peak[n] = max(peak[n], float(np.max(np.abs(v))))
    except Exception:  # onnxruntime refusing a later sample: keep the global scale
        return {}
    fracs = {}
    for n, m in peak.items():
        if m > 0:
            # onnxruntime's last bits depend on the CPU and its threads: rounded before deciding
            f = ACTIVATION_BITS - 1 - ceil_log2(stable(m) * 1.25)
            fracs[n] = int(min(max(f, frac_bits), frac_bits + MAX_EXTRA_FRAC))
    return fracs


def calibrated_scales(c: Compiled) -> dict:
    """Every scale a compile chose from its calibration data: with the model and the options,
    what the R1CS is a function of (recorded in the manifest, reused by a rebuild)."""
    scales = {"input_frac": c.input_frac, "input_bits": c.input_bits, "tensor_fracs": dict(c.tensor_fracs)}
    if c.config.weights == "committed" and c.weight_set is not None:
        scales["weight_scales"] = {k: dict(v) for k, v in c.weight_set.scales.items()}
    return scales


def compile_model(path, calibration: np.ndarray | None, config: CompileConfig | None = None,
                  source: str = "calibration data", progress: Callable[[str], None] | None = None,
                  scales: dict | None = None) -> Compiled:
    """``source`` names the calibration data in errors (its file, from the CLI); ``progress``,
    when given, receives one line as each stage ends (the CLI prints them on stderr).
    ``scales`` (``calibrated_scales`` of an earlier compile) replaces the scales calibration
    would choose: a rebuild takes them from the manifest, so no float measured here can move
    them; ``calibration`` may then be None (no input range is recorded)."""
    from zkml.compiler.input_range import calibrated_range
    from zkml.formats.tensors import samples_of

    clock = _Stages(progress)
    config = config or CompileConfig()
    graph = load_for_compile(path)
    n_weights = sum(int(np.size(v)) for v in graph.constants.values())
    clock.done(f"loaded {len(graph.nodes)} nodes, {n_weights:,} weights")
    from zkml.compiler.estimate import check_size

    est = check_size(graph, int(np.prod(graph.shapes[graph.inputs[0]])))  # before any work: refuse what cannot fit
    clock.done(f"estimated {est.summary()}")
    name = graph.inputs[0]
    shape = tuple(graph.shapes[name])
    if calibration is not None:
        calibration = samples_of(calibration, shape, source, name)  # (N, *shape); a transposed layout is refused
    if scales is not None:
        c = Compiled(graph, config, name, shape, int(scales["input_bits"]), int(scales["input_frac"]))
        c.tensor_fracs = {str(k): int(v) for k, v in scales["tensor_fracs"].items()}
        if config.weights == "committed" and scales.get("weight_scales"):
            from zkml.compiler.committed_weights import WeightSet

            c.weight_set = WeightSet(scales={str(k): {"frac": int(v["frac"]), "bias_bits": int(v["bias_bits"])}
                                             for k, v in scales["weight_scales"].items()})
        if calibration is not None:
            c.input_range = calibrated_range(calibration, config.input_margin)
        clock.done(f"took the recorded scales of {len(c.tensor_fracs)} tensors")
    else:
        if calibration is None:
            raise ZkmlError("compile needs calibration data (or recorded scales)")
        f_in = choose_input_frac(calibration, config.frac_bits)
        c = Compiled(graph, config, name, shape, input_range_bits(calibration, f_in), f_in)
        c.input_range = calibrated_range(calibration, config.input_margin)
        c.tensor_fracs = calibrated_fracs(graph, calibration, config.frac_bits)
        clock.done(f"calibrated the scales of {len(c.tensor_fracs)} tensors")
    from zkml.compiler.token_ids import token_range

    c.input_range = token_range(graph, name, shape, c.input_range)
    b, outs = build(c, np.zeros(shape, np.int64), emit=True)
    clock.done(f"built {b.n_constraints:,} constraints over {b.n_wires:,} wires")
    c.r1cs = b.r1cs()
    clock.done(f"assembled the R1CS, {sum(m.nnz for m in (c.r1cs.a, c.r1cs.b, c.r1cs.c)):,} terms")
    c.outputs = [(n, t.shape, t.frac) for n, t in zip(graph.outputs, outs)]
    c.output_bounds = [(t.lo.ravel().tolist(), t.hi.ravel().tolist()) for t in outs]
    return c


class _Stages:
    """Progress of a compile: one line per finished stage with the seconds it took."""

    def __init__(self, progress: Callable[[str], None] | None):
        self.progress = progress
        self.t = time.perf_counter()

    def done(self, what: str) -> None:
        now = time.perf_counter()
        if self.progress is not None:
            self.progress(f"{what} ({now - self.t:.1f} s)")
        self.t = now


def witness(c: Compiled, x: np.ndarray, what: str = "input", salt: int = 0, challenge: int | None = None):
    """(witness ints in circom order, output integers) for one real-valued input, refused when
    it lies outside the calibrated input range (an inference proof; evaluations are not).
    A lookup circuit's round 2 is filled for ``challenge`` (default: the compile-time stand-in):
    a witness to check against the R1CS; proofs take theirs from ``witness_rounds``."""
    _, complete, outs = witness_rounds(c, x, what, salt)  # a plain circuit's complete() is its witness
    return complete(COMPILE_CHALLENGE if challenge is None else challenge), outs


def witness_rounds(c: Compiled, x: np.ndarray, what: str = "input", salt: int = 0):
    """(round1, complete, outputs) for one input, for two-round Groth16: ``round1`` is the
    witness up to the last round-1 signal (length 1 + n_public + n_round1; the challenge, the
    last public signal, is still 0); ``complete(c)`` returns the full witness for challenge c
    (raising ChallengeCollision, about n/r likely, when c equals a looked-up value; it may be
    called again with another c). A plain circuit: round1 is the whole witness, complete(c)
    returns it unchanged."""
    xq = quantize_input(c, x, what, in_range=True)
    b, outs = build(c, xq, emit=False, salt=salt)
    round1 = b.witness()
    fresh = [b]

    def complete(challenge: int) -> list[int]:
        bb = fresh.pop() if fresh else build(c, xq, emit=False, salt=salt)[0]
        bb.round2(challenge)
        return bb.witness()

    return round1, complete, [t.values for t in outs]


def intermediates(c: Compiled, x: np.ndarray) -> dict:
    """Every node output of the circuit for one input, dequantized (what each layer computes)."""
    tensors: dict = {}
    run_graph(CircuitBuilder(emit=False, lookups=bool(c.config.lookups)), c, quantize_input(c, x), tensors)
    return {name: fixedpoint.dequantize(t.values, t.frac) for name, t in tensors.items() if name != c.input_name}


def forward(c: Compiled, x: np.ndarray) -> list[np.ndarray]:
    """The circuit's outputs, dequantized, for one input (what a proof would claim)."""
    _, outs = build(c, quantize_input(c, x), emit=False)
    return [fixedpoint.dequantize(t.values, t.frac) for t in outs]
