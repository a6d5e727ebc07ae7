"""The ``zkml`` command line: a table of commands that resolve paths, call the library, and
write files. User mistakes (``ZkmlError``) print one line and exit non-zero, no traceback."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from zkml import __version__
from zkml.errors import ZkmlError

PIPE_WIDTH = 100_000  # "no wrapping" for rich when a script reads the output
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a program killed by a closed pipe reports (`set -o pipefail` sees it)


class _Console(Console):
    def on_broken_pipe(self) -> None:  # rich's own exits 1; a closed pipe is 141 here, and quiet
        _reader_gone()
        raise SystemExit(EXIT_BROKEN_PIPE)


def _console(stderr: bool) -> Console:
    """A console for stdout or stderr: not a terminal, lines stay whole (no wrapping at 80
    columns, tables at their own width); NO_COLOR set, no escape codes at all (bold included)."""
    stream = sys.stderr if stderr else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    kw = {} if tty else {"width": PIPE_WIDTH, "soft_wrap": True}
    if os.environ.get("NO_COLOR"):
        kw["color_system"] = None
    return _Console(stderr=stderr, **kw)


err = _console(stderr=True)
out = _console(stderr=False)


def out_print(message: str) -> None:
    out.print(message, highlight=False, soft_wrap=True)


def _error_line(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)  # messages quote '[...]'


def _interrupted() -> None:
    """Ctrl-C: say what is on disk (staged outputs were removed; renamed ones are whole)."""
    from zkml.formats.atomic import WRITTEN

    written = list(dict.fromkeys(str(p) for p in WRITTEN))
    if err.is_terminal:
        err.print()  # past the terminal's ^C
    err.print(escape("interrupted; " + (f"wrote {', '.join(written)} (each whole) before that" if written
                                        else "nothing was written")), highlight=False, soft_wrap=True)


def _reader_gone() -> None:
    """The reader of our output left (`zkml inspect B | head -1`): point stdout and stderr at
    /dev/null, as Python's documentation advises, so that no flush at exit fails with a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            os.dup2(devnull, stream.fileno())
    except (OSError, ValueError, AttributeError):
        pass


class _Group(click.Group):
    """One line and an exit code for whatever ends a command early: ``ZkmlError`` (its code),
    any OSError (1, naming the file), Ctrl-C (130, saying what was written), a closed stdout
    pipe (141, quietly)."""

    def make_context(self, *args, **kwargs):
        try:  # --help and usage errors are written here, before invoke
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:  # click's own handler would exit 1
            _reader_gone()
            raise SystemExit(EXIT_BROKEN_PIPE) from None

    def invoke(self, ctx):
        global err, out
        top = ctx.parent is None
        if top:  # per invocation: the streams (and NO_COLOR) may differ from those at import
            from zkml.formats.atomic import WRITTEN

            err, out = _console(stderr=True), _console(stderr=False)
            WRITTEN.clear()
        try:
            rv = super().invoke(ctx)
            if top:
                sys.stdout.flush()  # a closed pipe shows here rather than at interpreter exit
            return rv
        except ZkmlError as e:
            _error_line(str(e))
            ctx.exit(e.exit_code)
        except BrokenPipeError:
            _reader_gone()
            ctx.exit(EXIT_BROKEN_PIPE)
        except OSError as e:  # last resort: a write or read no command turned into a message
            from zkml.formats.atomic import os_error_message

            _error_line(os_error_message(e, verb=None))
            ctx.exit(1)
        except (KeyboardInterrupt, click.exceptions.Abort):
            _interrupted()
            ctx.exit(EXIT_INTERRUPTED)
        except EOFError as e:  # last resort (click would print a bare "Aborted!")
            _error_line(f"an input file ended before its data did ({e or 'end of file'}); it is truncated or empty")
            ctx.exit(1)


@contextmanager
def step(message: str):
    """A spinner on stderr while a long step runs."""
    with err.status(message, spinner="dots"):
        yield


def _progress_shown() -> bool:
    """Stage lines go to a terminal (or with ZKML_PROGRESS=1): a script reading stderr gets the
    one line of an error, not the stages that ran before it."""
    return err.is_terminal or os.environ.get("ZKML_PROGRESS") == "1"


def _stage_line(started: float):
    """A progress callback for long commands: one stderr line per stage, with the time so far."""
    if not _progress_shown():
        return lambda message: None
    return lambda message: err.print(f"  {time.perf_counter() - started:6.1f} s  {escape(message)}",
                                     highlight=False, soft_wrap=True)


def _summary(started: float, outputs: list[Path]) -> None:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sizes = ", ".join(f"{p.name} {_size(p)}" for p in outputs if p.exists())
    err.print(
        f"[green]done[/green] in {time.perf_counter() - started:.2f} s, "
        f"peak memory {peak_mb:.0f} MB" + (f"; wrote {escape(sizes)}" if sizes else ""),
        highlight=False, soft_wrap=True,
    )


def _size(p: Path) -> str:
    n = p.stat().st_size
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _usage(started: float) -> dict:
    """Wall time and peak memory, for --json (the figures ``_summary`` prints)."""
    return {"seconds": round(time.perf_counter() - started, 3),
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _log(message: str) -> None:
    """A note or progress line from the library, on stderr."""
    err.print(escape(message), highlight=False, soft_wrap=True)


def _emit(doc: dict) -> None:
    """A --json command's result: one JSON object on stdout (keys listed in README, "Output for scripts")."""
    click.echo(json.dumps(doc, indent=1))


_json = click.option("--json", "as_json", is_flag=True,
                     help="Print the result as one JSON object on stdout (keys in README, \"Output for scripts\"); "
                          "logs stay on stderr, errors stay one line on stderr with the exit code.")


@contextmanager
def _verdict(as_json: bool, policy: bool = False, **fields):
    """What ends a verifying command before its verdict sets its exit code: 2 (cannot check) for a
    file that could not be read, a bundle or chain not found, an OSError, or, for ``policy``
    commands (audit, check: their failures come back as rows), any error; 1 (invalid) for any
    other ZkmlError (a malformed or mislabelled proof). With --json the verdict is also one JSON
    object on stdout ("valid": false or null beside it, but for policy commands); the error stays
    one line on stderr."""
    from zkml.errors import CannotCheck, Unreadable

    try:
        yield
    except BrokenPipeError:
        raise
    except (ZkmlError, OSError) as e:
        if isinstance(e, OSError):
            from zkml.formats.atomic import os_error_message

            e = CannotCheck(os_error_message(e, verb=None))
        cannot = policy or isinstance(e, (CannotCheck, Unreadable))
        if as_json:
            _emit({"verdict": "CANNOT CHECK" if cannot else "INVALID",
                   **({} if policy else {"valid": None if cannot else False}), **fields, "error": str(e)})
        if cannot and not isinstance(e, CannotCheck):
            raise CannotCheck(str(e)) from None
        raise e from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zkml")
def main() -> None:
    """Zero-knowledge proofs about machine-learning models (Groth16 over BN254)."""


@main.group(cls=_Group)
def groth16() -> None:
    """Groth16 on circom/snarkjs files: ptau-new, setup, contribute, prove, verify, export-vk."""


_existing = click.Path(exists=True, dir_okay=False, path_type=Path)


def _select_verifier(ctx, param, value: bool) -> None:
    from zkml.groth16.verifying import ENGINE, REFERENCE, select

    select(REFERENCE if value else ENGINE)  # set on every call: one process may run many commands (tests)


_reference = click.option("--reference", is_flag=True, expose_value=False, callback=_select_verifier,
                          help="Verify with py_ecc, the independent reference (slow), instead of the engine's pairing.")
_output = click.Path(dir_okay=False, path_type=Path)


@groth16.command("ptau-new")
@click.argument("power", type=click.IntRange(1, 24))
@click.argument("ptau_file", type=_output, default="dev.ptau")
def ptau_new_cmd(power: int, ptau_file: Path) -> None:
    """A prepared development .ptau of 2^POWER (insecure: for tests and benchmarks only)."""
    from zkml.formats.atomic import OutputSet
    from zkml.formats.ptau import write_dev_ptau
    from zkml.groth16.setup import DEV_TAU_WARNING, DevTau

    err.print(f"[yellow]{DEV_TAU_WARNING}[/yellow]")
    t0 = time.perf_counter()
    dev = DevTau.random()
    with step(f"Computing powers of tau up to 2^{power}"), OutputSet() as outs:
        write_dev_ptau(outs.stage(ptau_file), power, dev.tau, dev.alpha, dev.beta)
    _summary(t0, [ptau_file])


@groth16.command("setup")
@click.argument("r1cs_file", type=_existing)
@click.argument("zkey_file", type=_output, default="circuit_final.zkey")
@click.option("--ptau", type=_existing, help="Phase-1 powers of tau from a ceremony (.ptau).")
@click.option("--dev", is_flag=True,
              help="Generate a development tau on this machine (insecure, for testing only).")
def setup_cmd(r1cs_file: Path, zkey_file: Path, ptau: Path | None, dev: bool) -> None:
    """Circuit keys for R1CS_FILE, with one contribution applied, written to ZKEY_FILE."""
    from zkml.formats.atomic import OutputSet, refuse_overlap
    from zkml.formats.r1cs import read_r1cs

    if bool(ptau) == dev:
        raise ZkmlError("give exactly one of --ptau FILE (a ceremony) or --dev (testing only)")
    refuse_overlap([zkey_file], [r1cs_file, ptau])
    t0 = time.perf_counter()
    with step(f"Reading {r1cs_file}"):
        r1cs = read_r1cs(r1cs_file)  # before the engine is imported: a bad file is refused at once

    from zkml.formats.zkey import write_zkey
    from zkml.groth16 import setup

    if dev:
        err.print(f"[yellow]{setup.DEV_TAU_WARNING}[/yellow]")
        with step("Computing keys from a development tau"):
            pk = setup.setup_from_secrets(r1cs, setup.DevTau.random(), progress=_stage_line(t0))
    else:
        from zkml.formats.ptau import read_ptau
        from zkml.groth16.contribute import contribute

        with step(f"Reading {ptau}"):
            tau = read_ptau(ptau)
        with step("Computing keys from the powers of tau"):
            pk = setup.setup_from_ptau(r1cs, tau, source=str(ptau))
        with step("Applying the first contribution"):
            pk = contribute(pk, name="zkml setup")
    with step(f"Writing {zkey_file}"), OutputSet() as outs:
        write_zkey(outs.stage(zkey_file), pk)
    err.print(f"{r1cs.n_constraints} constraints, {pk.n_vars} signals, {pk.n_public} public, "
              f"domain 2^{pk.domain_size.bit_length() - 1}", highlight=False)
    _summary(t0, [zkey_file])


@groth16.command("contribute")
@click.argument("zkey_in", type=_existing)
@click.argument("zkey_out", type=_output)
@click.option("--name", default="", help="A name recorded with the contribution.")
@click.option("--entropy", default="", help="Extra entropy mixed with the OS's randomness.")
def contribute_cmd(zkey_in: Path, zkey_out: Path, name: str, entropy: str) -> None:
    """Add a phase-2 contribution to ZKEY_IN, writing ZKEY_OUT."""
    from zkml.formats.atomic import OutputSet, refuse_overlap
    from zkml.formats.zkey import read_zkey, write_zkey
    from zkml.groth16.contribute import contribute

    refuse_overlap([zkey_out], [zkey_in], hint="write the contribution to a new file, and keep the old one until "
                   "the new one has been checked")
    t0 = time.perf_counter()
    with step(f"Reading {zkey_in}"):
        pk = read_zkey(zkey_in)
    with step("Contributing"):
        pk = contribute(pk, entropy.encode(), name)
    with step(f"Writing {zkey_out}"), OutputSet() as outs:
        write_zkey(outs.stage(zkey_out), pk)
    err.print(f"contribution #{len(pk.contributions)} added", highlight=False)
    _summary(t0, [zkey_out])


@groth16.command("prove")
@_reference
@click.argument("zkey_file", type=_existing)
@click.argument("wtns_file", type=_existing)
@click.argument("proof_file", type=_output, default="proof.json")
@click.argument("public_file", type=_output, default="public.json")
@click.option("--r1cs", "r1cs_file", type=_existing,
              help="Check the witness against this R1CS first (names a failing constraint).")
@click.option("--device", type=click.Choice(["cpu", "gpu", "auto"]), default="cpu",
              show_default=True, help="Prover engine.")
def prove_cmd(zkey_file: Path, wtns_file: Path, proof_file: Path, public_file: Path,
              r1cs_file: Path | None, device: str) -> None:
    """Prove WTNS_FILE with ZKEY_FILE; write PROOF_FILE and PUBLIC_FILE (snarkjs JSON)."""
    from zkml.formats.atomic import OutputSet, refuse_overlap
    from zkml.formats.snarkjs_json import write_proof, write_public
    from zkml.formats.wtns import read_wtns
    from zkml.formats.zkey import read_zkey
    from zkml.groth16.prover import prove

    refuse_overlap([proof_file, public_file], [zkey_file, wtns_file, r1cs_file])
    t0 = time.perf_counter()
    with step(f"Reading {zkey_file}"):
        pk = read_zkey(zkey_file)
    witness = read_wtns(wtns_file)
    r1cs = None
    if r1cs_file:
        from zkml.formats.r1cs import read_r1cs

        r1cs = read_r1cs(r1cs_file)
    with step("Proving"):
        proof, public = prove(pk, witness, r1cs=r1cs, device=device, witness_name=str(wtns_file))
    with OutputSet() as outs:  # a proof never without its public signals
        write_proof(outs.stage(proof_file), proof)
        write_public(outs.stage(public_file), public)
    _summary(t0, [proof_file, public_file])


@groth16.command("verify")
@_reference
@click.argument("vk_file", type=_existing, default="verification_key.json")
@click.argument("public_file", type=_existing, default="public.json")
@click.argument("proof_file", type=_existing, default="proof.json")
@_json
def verify_cmd(vk_file: Path, public_file: Path, proof_file: Path, as_json: bool) -> None:
    """Check PROOF_FILE against VK_FILE and PUBLIC_FILE (the engine's pairing; --reference: py_ecc).
    Exit 0 valid; 1 INVALID (or a malformed proof or signal, named); 2 a file could not be read."""
    from zkml.formats.snarkjs_json import read_verify_inputs
    from zkml.groth16.verifying import verify

    with _verdict(as_json, proof=str(proof_file)):
        vk, public, proof = read_verify_inputs(vk_file, public_file, proof_file)
        with step("Verifying"):
            ok = verify(vk, public, proof)
    if as_json:
        _emit({"verdict": "VALID" if ok else "INVALID", "valid": ok, "proof": str(proof_file)})
    elif ok:
        out_print("[green]OK[/green]: the proof is valid")
    else:
        out_print("[red]INVALID[/red]: the proof does not verify for these public signals")
    if not ok:
        sys.exit(1)


def _key_verdict(rep, as_json: bool, what: dict) -> None:
    """Print a KeyReport (``key ok`` / ``key FAIL: …`` first) and exit 1 when it failed."""
    if as_json:
        _emit({"verdict": "VALID" if rep.ok else "INVALID", "valid": rep.ok, **what, "key": rep.line(),
               "problems": rep.problems, "checked": rep.checked, "contributions": rep.contributions,
               "notes": rep.notes})
    else:
        out_print(("[green]key ok[/green]" if rep.ok else f"[red]key FAIL[/red]: {escape(rep.problems[0])}"))
        for p in rep.problems[1:]:
            out_print(f"  also: {escape(p)}")
        for c in rep.contributions:
            out_print(f"  {escape(c)}")
        if rep.checked:
            out_print("  checked: " + escape("; ".join(rep.checked)))
        for n in rep.notes:
            err.print(f"note: {escape(n)}", highlight=False, soft_wrap=True)
    if not rep.ok:
        sys.exit(1)


@groth16.command("verify-key")
@click.argument("r1cs_file", type=_existing)
@click.argument("ptau_file", type=_existing)
@click.argument("zkey_file", type=_existing)
@_json
def verify_key_cmd(r1cs_file: Path, ptau_file: Path, zkey_file: Path, as_json: bool) -> None:
    """Check that ZKEY_FILE was made for exactly R1CS_FILE from PTAU_FILE, with every phase-2
    contribution valid (what `snarkjs zkey verify` checks; zkml's and snarkjs's records).
    Exit 0 key ok; 1 key FAIL (named); 2 a file could not be read or the ptau is too small."""
    from zkml.errors import CannotCheck

    t0 = time.perf_counter()
    what = {"r1cs": str(r1cs_file), "ptau": str(ptau_file), "zkey": str(zkey_file)}
    with _verdict(as_json, **what):
        from zkml.formats.ptau import read_ptau
        from zkml.formats.r1cs import read_r1cs
        from zkml.formats.zkey import read_zkey
        from zkml.groth16.key_check import check_key

        try:
            r1cs, ptau, pk = read_r1cs(r1cs_file), read_ptau(ptau_file), read_zkey(zkey_file)
            with step("Checking the key"):
                rep = check_key(r1cs, ptau, pk, ptau_name=str(ptau_file), zkey_name=str(zkey_file),
                                progress=_stage_line(t0))
        except ZkmlError as e:
            raise CannotCheck(str(e)) from None
    _key_verdict(rep, as_json, what)


@main.command("verify-key")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--onnx", "onnx_file", type=_existing, required=True, help="The ONNX model the key should be for.")
@click.option("--ptau", type=_existing, help="The phase-1 .ptau of the bundle's setup (default: the bundle's "
              "development ptau, for bundles set up with a development tau).")
@_json
def bundle_verify_key_cmd(bundle: Path, onnx_file: Path, ptau: Path | None, as_json: bool) -> None:
    """Check that BUNDLE's key is made for the circuit the ONNX model compiles to: the model is
    compiled again with the manifest's recorded options and scales, and the zkey (and the
    verifying key) checked against that R1CS and the ptau. Exit 0 key ok, 1 key FAIL, 2 cannot check."""
    from zkml.errors import CannotCheck

    t0 = time.perf_counter()
    what = {"bundle": str(bundle), "onnx": str(onnx_file)}
    with _verdict(as_json, **what):
        from zkml.bundle.key_binding import verify_bundle_key

        try:
            with step("Compiling the model again and checking the key"):
                rep = verify_bundle_key(bundle, onnx_file, ptau, progress=_stage_line(t0))
        except CannotCheck:
            raise
        except ZkmlError as e:
            raise CannotCheck(str(e)) from None
    _key_verdict(rep, as_json, what)


@groth16.command("export-vk")
@click.argument("zkey_file", type=_existing)
@click.argument("vk_file", type=_output, default="verification_key.json")
def export_vk_cmd(zkey_file: Path, vk_file: Path) -> None:
    """Write the verifying key of ZKEY_FILE as snarkjs's verification_key.json."""
    from zkml.formats.atomic import OutputSet, refuse_overlap
    from zkml.formats.snarkjs_json import write_vk
    from zkml.formats.zkey import read_zkey

    refuse_overlap([vk_file], [zkey_file])
    vk = read_zkey(zkey_file).verifying_key()
    with OutputSet() as outs:
        write_vk(outs.stage(vk_file), vk)
    out.print(f"wrote {vk_file}")


# --- models -----------------------------------------------------------------------------------

_dir = click.Path(file_okay=False, path_type=Path)


@main.command("compile")
@click.argument("model", type=_existing, required=False)
@click.option("--calibration", "-c", type=_existing,
              help="Samples (.npz or .json) that set the input's fixed-point range and the fidelity report.")
@click.option("--rebuild", "rebuild_from", type=click.Path(exists=True, path_type=Path), metavar="BUNDLE_OR_MANIFEST",
              help="Compile again from the manifest's build record (options, recorded scales) and say whether the "
                   "R1CS is byte-identical to the bundle's; MODEL defaults to the bundle's model.onnx, -c is optional "
                   "(its hash is checked).")
@click.option("-o", "--output", "out", type=_dir, help="Bundle folder (default circuits/<model name>).")
@click.option("--frac-bits", default=8, show_default=True, help="Fraction bits of activations.")
@click.option("--weight-bits", default=16, show_default=True, help="Significant bits kept of each weight tensor.")
@click.option("--input", "--input-visibility", "input_visibility", type=click.Choice(["public", "committed"]),
              default="public", show_default=True,
              help="public: the input is a public signal; committed: only its salted Poseidon commitment is "
                   "(--input-visibility is the older name).")
@click.option("--weights", "weights", type=click.Choice(["fixed", "committed"]), default="fixed", show_default=True,
              help="fixed: weights are circuit constants (the key is the model); committed: private witness values "
                   "behind a salted Poseidon commitment, a public signal (the key is the architecture; the "
                   "weights and salt go to OUT/private/weights.npz, which the prover keeps).")
@click.option("--outputs", "outputs", type=click.Choice(["public", "hashed"]), default=None,
              help="public (default): outputs and public input packed into few field elements; hashed: one "
                   "Poseidon hash of them (cheapest on chain: one public input).")
@click.option("--public-signals", type=click.Choice(["packed", "hash"]), default=None,
              help="The older name of --outputs: packed = public, hash = hashed.")
@click.option("--input-margin", type=click.FloatRange(0), default=1.0, show_default=True,
              help="prove refuses an input feature outside its calibrated [min, max] widened by this fraction "
                   "of the range.")
@click.option("--lookups", type=click.Choice(["on", "off"]), default=None,
              help="on: range checks and activations as lookups (two-round Groth16, a few constraints each); "
                   "off: bit decompositions (plain Groth16, snarkjs-compatible). Default: "
                   "the compiler's (zkml.compiler.compile.DEFAULT_LOOKUPS).")
@click.option("--force", is_flag=True, help="Replace an existing bundle.")
@_json
def compile_cmd(model: Path | None, calibration: Path | None, rebuild_from: Path | None, out: Path | None,
                frac_bits: int, weight_bits: int, input_visibility: str, weights: str, outputs: str | None,
                public_signals: str | None, input_margin: float, lookups: str | None, force: bool, as_json: bool) -> None:
    """Compile MODEL (ONNX) into a circuit bundle: quantize, build the R1CS, report fidelity."""
    alias = {"packed": "public", "hash": "hashed"}.get(public_signals) if public_signals else None
    if outputs and alias and outputs != alias:
        raise click.UsageError(f"--outputs {outputs} and --public-signals {public_signals} disagree; pass one")
    outputs = outputs or alias or "public"
    public_signals = "hash" if outputs == "hashed" else "packed"
    if rebuild_from is not None:
        return _rebuild(rebuild_from, model, calibration, as_json)
    if model is None or calibration is None:
        raise click.UsageError("compile needs MODEL and --calibration (or --rebuild BUNDLE_OR_MANIFEST)")
    from zkml import api
    from zkml.compiler.fidelity import summary

    t0 = time.perf_counter()
    with step(f"Compiling {model}"):
        b = api.compile(model, calibration, output=out, frac_bits=frac_bits, weight_bits=weight_bits,
                        input_visibility=input_visibility, public_signals=public_signals, input_margin=input_margin,
                        lookups=lookups, weights=weights, force=force, log=_log,
                        progress=(lambda line: err.print(escape(line), highlight=False, soft_wrap=True))
                        if _progress_shown() else None)
    if as_json:
        _emit(b.to_json())
    else:
        pub = f"{b.public} public signals" + (" and the lookup challenge" if b.lookups else "")
        out_print(f"{b.constraints} constraints, {b.wires} wires, {pub}; "
                  f"{escape(summary(b.fidelity))}")
    _summary(t0, [b.path / "circuit.r1cs"])


def _rebuild(source: Path, model: Path | None, calibration: Path | None, as_json: bool) -> None:
    """``compile --rebuild``: exit 0 when the rebuilt R1CS matches, 1 when it does not, 2 when it
    cannot be rebuilt (a field missing from the manifest, another model file)."""
    from zkml.errors import CannotCheck

    t0 = time.perf_counter()
    with _verdict(as_json, policy=True):
        from zkml.bundle.rebuild import rebuild

        try:
            with step(f"Rebuilding {source}"):
                r = rebuild(source, model, calibration, progress=_stage_line(t0))
        except CannotCheck:
            raise
        except ZkmlError as e:
            raise CannotCheck(str(e)) from None
    if as_json:
        _emit({"verdict": "MATCH" if r.matches else "MISMATCH", "match": r.matches, "r1cs_sha256": r.sha256,
               "recorded_sha256": r.expected, "notes": r.notes, **_usage(t0)})
    else:
        for note in r.notes:
            err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
        if r.matches:
            out_print(f"[green]MATCH[/green]: the rebuilt R1CS (sha256 {r.sha256}) is byte-identical to the bundle's")
        else:
            out_print(f"[red]MISMATCH[/red]: the rebuilt R1CS has sha256 {r.sha256}, the manifest records "
                      f"{r.expected or 'no circuit.r1cs'}")
    if not r.matches:
        sys.exit(1)


@main.command("setup")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--ptau", type=_existing, help="Phase-1 powers of tau (.ptau); default: a development tau (insecure).")
@click.option("--no-dev-ptau", is_flag=True,
              help="With a development tau, do not keep its .ptau in the bundle (smaller, faster; the key can then "
                   "not be checked with `zkml verify-key`).")
@_json
def bundle_setup_cmd(bundle: Path, ptau: Path | None, no_dev_ptau: bool, as_json: bool) -> None:
    """Groth16 keys for a compiled BUNDLE (circuit.zkey, verification_key.json)."""
    from zkml import api

    t0 = time.perf_counter()
    with step("Computing keys from " + ("the powers of tau" if ptau else "a development tau")):
        keys = api.setup(bundle, ptau=ptau, no_dev_ptau=no_dev_ptau, progress=_stage_line(t0),
                         log=lambda warning: err.print(f"[yellow]{escape(warning)}[/yellow]"))
    if as_json:
        _emit(keys.to_json())
    _summary(t0, keys.wrote)


@main.command("prove")
@_reference
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--input", "-i", "input_file", type=_existing, required=True, help="The input tensor (.npz, .npy or .json).")
@click.option("-o", "--output", "out", type=_output, default="proof.json", show_default=True)
@click.option("--device", type=click.Choice(["cpu", "gpu", "auto"]), default="cpu", show_default=True)
@click.option("--weights", "weights_file", type=_existing, default=None,
              help="A --weights committed bundle's private weights file (default BUNDLE/private/weights.npz); "
                   "refused unless it opens the bundle's weights commitment.")
@_json
def bundle_prove_cmd(bundle: Path, input_file: Path, out: Path, device: str, weights_file: Path | None,
                     as_json: bool) -> None:
    """Prove an inference of BUNDLE's model on an input; writes the claim and proof."""
    from zkml import api

    t0 = time.perf_counter()
    with step("Proving"):
        p = api.prove(bundle, input_file, output=out, device=device, weights=weights_file)
    if as_json:
        _emit(p.to_json())
    else:
        for o in p.outputs:  # the result: stdout
            out_print(f"output {escape(o['name'])}: argmax {o['argmax']}")
    _summary(t0, [out])


@main.command("prove-batch")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("inputs", type=_existing)
@click.option("-o", "--output", "out", type=_dir, default="proofs", show_default=True,
              help="Folder for the proofs, one <input hash>.proof.json per input; a re-run skips those done.")
@click.option("--workers", type=click.IntRange(1), default=os.cpu_count() or 1, show_default=True,
              help="Ray workers (actors), each holding the proving key and using one core.")
@click.option("--ray", "ray_address", help="HOST:PORT of a Ray cluster to join (default: a local Ray on 127.0.0.1).")
@click.option("--device", type=click.Choice(["cpu", "gpu"]), default="cpu", show_default=True,
              help="gpu asks Ray for one GPU per worker.")
def prove_batch_cmd(bundle: Path, inputs: Path, out: Path, workers: int, ray_address: str | None, device: str) -> None:
    """Prove an inference for every row of INPUTS (.npz 'x' or .json list) on Ray workers."""
    from zkml.bundle.store import read_manifest
    from zkml.formats.tensors import load_dataset
    from zkml.scale.batch_prove import prove_batch

    t0 = time.perf_counter()
    inp = read_manifest(bundle)["input"]
    xs = load_dataset(inputs, inp["shape"], inp["name"])  # rows in the input's shape, never transposed

    def progress(done: int, total: int, elapsed: float) -> None:
        rate = done / elapsed * 60 if elapsed > 0 else 0.0
        eta = (total - done) / (done / elapsed) if done else float("nan")
        err.print(f"{done}/{total} proofs, {rate:.1f} per minute, ETA {eta:.0f} s", highlight=False)

    try:
        res = prove_batch(bundle, xs, out, workers=workers, address=ray_address, device=device,
                          source=str(inputs), progress=progress)
    except KeyboardInterrupt:
        err.print("interrupted: finished proofs are in place (each written whole); re-run to continue")
        sys.exit(130)
    for row, reason in res.failed:
        err.print(f"[red]failed[/red]: {inputs}, row {row}: {reason}", highlight=False, soft_wrap=True)
    out_print(f"{len(res.proved)} proved, {res.skipped} already done, {len(res.failed)} failed, of {res.total} inputs; "
              f"proofs in {out}/")
    _summary(t0, [])
    if res.failed:
        sys.exit(1)


_rpc = click.option("--rpc", help="JSON-RPC URL of a node (default: the embedded in-process chain).")
_key = click.option("--private-key-file", type=_existing,
                    help="Signing key for --rpc (else the ZKML_PRIVATE_KEY environment variable); never printed.")


@main.command("verify")
@_reference
@click.argument("proof_file", type=click.Path(exists=True, path_type=Path))
@click.option("--batch", is_flag=True, help="PROOF_FILE is a folder (or file) of proofs of one bundle: one batched "
              "pairing check (n + 3 pairings instead of 4n); the bad ones are named.")
@click.option("--bundle", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The bundle to verify against (default: the bundle whose verifying key the proof names, looked "
                   "for beside the proof, in its parent folder and in circuits/).")
@click.option("--onchain", is_flag=True, help="Also verify with the Solidity verifier on an EVM chain, and measure "
              "the gas a verifyProof transaction uses (no transaction is sent to a node: no key needed).")
@click.option("--address", help="Verifier address (default: the bundle's recorded deployment on that chain).")
@_rpc
@_key
@_json
def bundle_verify_cmd(proof_file: Path, batch: bool, bundle: Path | None, onchain: bool, address: str | None,
                      rpc: str | None, private_key_file: Path | None, as_json: bool) -> None:
    """Verify an inference proof file against its bundle's verifying key (and on chain).
    Exit 0 valid; 1 INVALID, or a field that disagrees with the bundle (named); 2 cannot check
    (a file that cannot be read, no bundle found, no chain or verifier to ask)."""
    from zkml import api

    if batch or proof_file.is_dir():
        _verify_batch(proof_file, bundle, as_json)
        return
    with _verdict(as_json, proof=str(proof_file)):
        with step("Verifying on chain" if onchain else "Verifying"):
            v = api.verify(proof_file, bundle=bundle, onchain=onchain, address=address, rpc=rpc,
                           private_key_file=private_key_file)
    ok, claim, r = v.valid, v.claim, v.onchain
    if as_json:
        _emit(v.to_json())
    elif onchain:
        where = f"chain {r['chain_id']} at {r['address']}"
        if ok:
            gas = (f"gas used {r['gas_used']:,}" if r["gas_source"] != "least gas limit" else
                   f"least gas limit {r['gas_used']:,} (this node reports no gas use of a call; a transaction uses a little less)")
            out_print(f"[green]OK[/green]: verified on {where}, {gas}")
        else:
            local = "" if v.local else f" ({escape(v.reason)})"
            out_print(f"[red]INVALID[/red]: on {where} the verifier says {r['valid']}, locally {v.local}{local}")
    elif ok:  # every label printed here was compared with the bundle
        outs = ", ".join(f"{o['name']} argmax {o['argmax']}" for o in claim["outputs"])
        out_print(f"[green]OK[/green]: model {claim['model_sha256'][:16]}… produced {escape(outs)}")
    else:
        out_print(f"[red]INVALID[/red]: {escape(str(proof_file))}: {escape(v.reason)}")
    if not ok:
        sys.exit(1)


def _verify_batch(proof_file: Path, bundle: Path | None, as_json: bool) -> None:
    """Exit 1 when a proof is invalid; else 2 when one could not be read (or none could be checked)."""
    from zkml import api
    from zkml.api.proofs import batch_files

    files = batch_files(proof_file)
    t0 = time.perf_counter()
    with _verdict(as_json, proofs=len(files)):
        with step(f"Verifying {len(files)} proofs in one batch"):
            v = api.verify(proof_file, batch=True, bundle=bundle)
    if as_json:
        _emit(v.to_json())
    else:
        for path, reason in v.rejected:
            mark = "[yellow]CANNOT CHECK[/yellow]" if (path, reason) in v.cannot_check else "[red]INVALID[/red]"
            out_print(f"{mark}: {escape(str(path))}: {escape(reason)}")
        if v.rejected:
            out_print(f"{len(v.invalid)} of {len(files)} proofs are invalid"
                      + (f", {len(v.cannot_check)} could not be read" if v.cannot_check else ""))
        else:
            out_print(f"[green]OK[/green]: all {len(v.valid_proofs)} proofs are valid ({time.perf_counter() - t0:.1f} s)")
    if v.invalid:
        sys.exit(1)
    if v.cannot_check:
        sys.exit(2)


@main.command("contract")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
def contract_cmd(bundle: Path) -> None:
    """Generate and compile BUNDLE's Solidity verifier (Verifier.sol, verifier.json)."""
    from zkml.evm.onchain import build_contract

    t0 = time.perf_counter()
    with step("Generating and compiling the verifier"):
        art = build_contract(bundle)
    err.print(f"{art['compiler']}, {(len(art['deployed_bytecode']) - 2) // 2} bytes deployed", highlight=False)
    _summary(t0, [bundle / "Verifier.sol", bundle / "verifier.json"])


@main.command("deploy")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_rpc
@_key
@_json
def deploy_cmd(bundle: Path, rpc: str | None, private_key_file: Path | None, as_json: bool) -> None:
    """Deploy BUNDLE's verifier; with --rpc the deployment is recorded in the bundle."""
    from zkml.evm.onchain import deploy_bundle

    with step("Deploying"):
        d = deploy_bundle(bundle, rpc, private_key_file)
    if as_json:
        _emit({"bundle": str(bundle), **{k: d[k] for k in ("chain_id", "rpc", "address", "tx_hash", "gas_used", "code_hash")}})
    else:
        out_print(f"deployed on chain {d['chain_id']} at {d['address']} (tx {d['tx_hash']}, gas {d['gas_used']:,})")
    if not rpc:
        err.print("note: the embedded chain lives only for this command; use `zkml chain up` and --rpc to keep it")


@main.command("calldata")
@click.argument("proof_file", type=_existing)
def calldata_cmd(proof_file: Path) -> None:
    """Print verifyProof's arguments for PROOF_FILE (snarkjs generatecall format)."""
    from zkml.evm.onchain import calldata

    click.echo(calldata(proof_file))


@main.group(cls=_Group)
def chain() -> None:
    """A local anvil devnet on 127.0.0.1 with its state kept in a data folder."""


_data = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=".zkml-chain",
                     show_default=True, help="Where the devnet keeps its state, log and dev key.")


@chain.command("up")
@_data
@click.option("--port", default=8545, show_default=True)
def chain_up(data_dir: Path, port: int) -> None:
    """Start the devnet (or report the running one)."""
    from zkml.evm import devnet

    info = devnet.up(data_dir, port)
    out.print(f"anvil on {info['rpc']} (chain {info['chain_id']}, pid {info['pid']}); "
              f"a funded development key is in {data_dir / 'dev.key'} (for --private-key-file)")


@chain.command("down")
@_data
def chain_down(data_dir: Path) -> None:
    """Stop the devnet; its state stays in the data folder."""
    from zkml.evm import devnet

    out.print("stopped" if devnet.down(data_dir) else "not running")


@chain.command("status")
@_data
def chain_status(data_dir: Path) -> None:
    """Say whether the devnet runs (exit 1 when it does not)."""
    from zkml.evm import devnet

    info = devnet.status(data_dir)
    if info is None:
        out.print("not running")
        sys.exit(1)
    out.print(f"running: {info['rpc']} chain {info['chain_id']} pid {info['pid']}")


# --- attestations: owners, auditors, insurers ------------------------------------------------


@main.group(cls=_Group)
def attest() -> None:
    """Attestations for model owners: inference, evaluate, keygen, sign, publish, revoke, renew, export."""


def _write_doc(path: Path, doc: dict, outs=None) -> None:
    """Check and write an attestation document, staged in ``outs`` when it is one of several outputs."""
    from zkml.api.attestations import write_document

    write_document(path, doc, outs)


def _validity(f):
    """--valid-until DATE / --valid-days N: the signed document's expiry."""
    f = click.option("--valid-days", type=click.FloatRange(min=0, min_open=True),
                     help=f"Valid for this many days from now (default {90}; a quarter).")(f)
    return click.option("--valid-until", "valid_until",
                        help="Valid until this UTC date (YYYY-MM-DD or YYYY-MM-DDTHH:MM) or unix seconds.")(f)


def _valid_until(valid_until: str | None, valid_days: float | None) -> int | None:
    """Unix seconds from --valid-until / --valid-days (None: the default validity)."""
    from zkml.api.attestations import valid_until_time

    return valid_until_time(valid_until, valid_days)


@attest.command("inference")
@_reference
@click.argument("proof_file", type=_existing)
@click.option("--bundle", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The bundle the proof was made with (default: found by its verifying key, as `zkml verify` does).")
@click.option("-o", "--output", "out", type=_output, help="Default: PROOF_FILE with .attestation.json.")
@_validity
def attest_inference_cmd(proof_file: Path, bundle: Path | None, out: Path | None, valid_until: str | None,
                         valid_days: float | None) -> None:
    """Turn a verified inference proof (from `zkml prove`) into an unsigned attestation."""
    from zkml.attest.owner import from_inference_proof

    out = out or proof_file.with_name(proof_file.name.removesuffix(".json") + ".attestation.json")
    until = _valid_until(valid_until, valid_days)
    with step("Checking the proof"):
        doc = from_inference_proof(proof_file, bundle, until)
    _write_doc(out, doc)
    out_s = ", ".join(f"{o['name']} argmax {o['argmax']}" for o in doc["claim"]["outputs"])
    out_print(f"attestation: model {doc['claim']['model_id'][:18]}… produced {escape(out_s)}; wrote {escape(str(out))}")


@attest.command("evaluate")
@_reference
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", "-d", type=_existing, required=True, help="Labelled test set (.npz with 'x' and 'y').")
@click.option("--k", "k", type=click.IntRange(0), help="Claim at least K right (default: as many as the model gets right).")
@click.option("--samples", "-n", type=click.IntRange(1), help="Use the first N samples (default: all).")
@click.option("--ptau", type=_existing, help="Phase-1 powers of tau for the evaluation keys; default: a development tau (insecure).")
@click.option("--device", type=click.Choice(["cpu", "gpu", "auto"]), default="cpu", show_default=True)
@click.option("-o", "--output", "out", type=_output, default="evaluation.attestation.json", show_default=True)
@click.option("--chunk-size", type=click.IntRange(1), help="Prove in chunks of this many samples on Ray, bound by a "
              "Merkle root of the chunk commitments (N must be a multiple).")
@click.option("--workers", type=click.IntRange(1), default=os.cpu_count() or 1, show_default=True,
              help="With --chunk-size: Ray workers.")
@click.option("--ray", "ray_address", help="With --chunk-size: HOST:PORT of a Ray cluster (default: local Ray on 127.0.0.1).")
@click.option("--class-k", "class_k", multiple=True, metavar="CLASS=K",
              help="Claim at least K true positives of CLASS (name or index; repeatable). Default: what the model "
                   "gets for every class; with any --class-k, 0 for the classes not named.")
@click.option("--class-names", help="Comma-separated names of the model's classes, in output order (signed with the claim).")
@click.option("--weights", "weights_file", type=_existing, default=None,
              help="A --weights committed bundle's private weights file (default: BUNDLE/private/weights.npz).")
@_validity
def attest_evaluate_cmd(bundle: Path, data: Path, k: int | None, samples: int | None, ptau: Path | None,
                        device: str, out: Path, chunk_size: int | None, workers: int, ray_address: str | None,
                        class_k: tuple[str, ...], class_names: str | None, weights_file: Path | None,
                        valid_until: str | None, valid_days: float | None) -> None:
    """Prove that BUNDLE's model gets at least K of N committed test samples right, with every class's
    true positives, false negatives and false positives (one circuit, or chunks on Ray); writes an
    unsigned attestation and, beside it, the opening (salt) of the dataset commitment."""
    from contextlib import nullcontext

    from zkml import api

    t0 = time.perf_counter()
    log = lambda m: err.print(m, highlight=False, soft_wrap=True)  # noqa: E731
    with nullcontext() if chunk_size else step("Proving the evaluation"):
        ev = api.evaluate(bundle, data, k=k, samples=samples, ptau=ptau, device=device, output=out,
                          chunk_size=chunk_size, workers=workers, ray=ray_address, class_k=class_k,
                          class_names=class_names, valid_until=valid_until, valid_days=valid_days, log=log,
                          weights=weights_file)
    _evaluation_summary(ev.document, out)
    err.print(f"keep {ev.opening} private: it opens the dataset commitment", highlight=False, soft_wrap=True)
    _summary(t0, [out])


def _evaluation_summary(doc: dict, out: Path) -> None:
    from zkml.attest import document as D

    m = doc["claim"]["metric"]
    pc = m["per_class"]
    names = pc.get("names") or [str(i) for i in range(len(pc["tp"]))]
    recall = ", ".join(f"{escape(n)} {t}/{t + f}" for n, t, f in zip(names, pc["tp"], pc["fn"]))
    out_print(f"attestation: model {doc['claim']['model_id'][:18]}… gets {m['correct']} of {m['n']} committed samples "
              f"right (claim: at least {m['k']}); per class found {recall}; valid until {D.utc(doc['valid_until'])}; "
              f"wrote {escape(str(out))}")


@attest.command("renew")
@_reference
@click.argument("attestation", type=_existing)
@click.option("--bundle", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The bundle the attestation was made with (default: the document's circuit.bundle_path).")
@click.option("--data", "-d", type=_existing, help="The committed test set (default: the opening's dataset path).")
@click.option("--ptau", type=_existing, help="Phase-1 powers of tau, if the evaluation keys must be made again.")
@click.option("--device", type=click.Choice(["cpu", "gpu", "auto"]), default="cpu", show_default=True)
@click.option("--workers", type=click.IntRange(1), default=os.cpu_count() or 1, show_default=True,
              help="For a chunked evaluation: Ray workers.")
@click.option("--ray", "ray_address", help="For a chunked evaluation: HOST:PORT of a Ray cluster.")
@click.option("-o", "--output", "out", type=_output, help="Default: renew ATTESTATION in place.")
@_validity
def attest_renew_cmd(attestation: Path, bundle: Path | None, data: Path | None, ptau: Path | None, device: str,
                     workers: int, ray_address: str | None, out: Path | None, valid_until: str | None,
                     valid_days: float | None) -> None:
    """Re-prove an evaluation attestation on the same committed data set (the opening beside it)
    with a new date; the renewed document is unsigned: sign and publish it again."""
    from zkml.attest import document as D
    from zkml.attest.renew import renew

    t0 = time.perf_counter()
    doc = D.read(attestation)
    until = _valid_until(valid_until, valid_days)
    log = lambda m: err.print(m, highlight=False, soft_wrap=True)  # noqa: E731
    with step("Re-proving the evaluation"):
        new, opened = renew(doc, attestation, bundle=bundle, data=data, valid_until=until, ptau=ptau, device=device,
                       workers=workers, address=ray_address, log=log)
    out = out or attestation
    from zkml.attest.renew import opening_path
    from zkml.formats.atomic import OutputSet

    with OutputSet() as outs:  # the renewed document, and its opening beside it (same salts)
        if out != attestation:
            outs.text(opening_path(out), json.dumps(opened, indent=1) + "\n")
        _write_doc(out, new, outs)
    _evaluation_summary(new, out)
    err.print(f"renewed (issued {D.utc(new['issued_at'])}); sign and publish it again", highlight=False, soft_wrap=True)
    _summary(t0, [out])


@attest.command("export")
@click.argument("attestation", type=_existing)
@click.option("--format", "fmt", type=click.Choice(["eas", "in-toto"]), required=True,
              help="eas: an off-chain EAS attestation (EIP-712); in-toto: a Statement v1 in a DSSE envelope.")
@_key
@click.option("--model", "model", type=_existing, help="in-toto: the ONNX file, named as the subject (must hash to the claim's model).")
@click.option("--chain-id", type=click.IntRange(1), default=1, show_default=True, help="eas: the EIP-712 domain's chain.")
@click.option("--eas-address", default="0xA1207F3BBa224E2c9c3c6D5aF63D0eb1582Ce587", show_default=True,
              help="eas: the EAS contract on that chain (the domain's verifyingContract).")
@click.option("--eas-version", default="0.26", show_default=True, help="eas: the EAS contract's version (the domain's version).")
@click.option("-o", "--output", "out", type=_output, help="Default: ATTESTATION with .eas.json or .intoto.json.")
def attest_export_cmd(attestation: Path, fmt: str, private_key_file: Path | None, model: Path | None, chain_id: int,
                      eas_address: str, eas_version: str, out: Path | None) -> None:
    """Export a signed attestation as a view other tools read, signed again by the owner's key
    (the document's signer): an off-chain EAS attestation or an in-toto statement (DSSE)."""
    from zkml.attest import document as D
    from zkml.attest import export as X
    from zkml.attest.owner import load_signing_key
    from zkml.formats.atomic import OutputSet, refuse_overlap

    stem = attestation.name.removesuffix(".json").removesuffix(".attestation")
    out = out or attestation.with_name(stem + (".eas.json" if fmt == "eas" else ".intoto.json"))
    refuse_overlap([out], [attestation, private_key_file, model])
    doc = D.read(attestation)
    if not doc.get("signature"):  # before asking for a key: the document itself is not ready
        raise ZkmlError(f"{attestation}: the attestation is unsigned; sign it first (`zkml attest sign {attestation}`), "
                        "an export carries the owner's signature")
    key = load_signing_key(private_key_file)
    if fmt == "eas":
        view = X.export_eas(doc, key, chain_id=chain_id, eas_address=eas_address, eas_version=eas_version,
                            where=str(attestation))
        what = f"off-chain EAS attestation {view['sig']['uid']} (schema {view['schema']['uid'][:18]}…)"
    else:
        view = X.export_in_toto(doc, key, X.model_file_name(doc, model, str(attestation)), where=str(attestation))
        what = "in-toto Statement v1 in a DSSE envelope"
    with OutputSet() as outs:
        outs.text(out, json.dumps(view, indent=1) + "\n")
    out_print(f"{what}, signed by {key.address}; wrote {escape(str(out))}")


@attest.command("keygen")
@click.argument("key_file", type=_output)
def attest_keygen_cmd(key_file: Path) -> None:
    """Write a new signing key to KEY_FILE (mode 0600) and print its address."""
    from zkml.attest.owner import new_key_file

    out_print(f"address {new_key_file(key_file)}; key in {key_file} (keep it private)")


@attest.command("sign")
@click.argument("attestation", type=_existing)
@_key
@click.option("-o", "--output", "out", type=_output, help="Default: sign ATTESTATION in place.")
def attest_sign_cmd(attestation: Path, private_key_file: Path | None, out: Path | None) -> None:
    """Sign ATTESTATION as the model owner (EIP-712 typed data)."""
    from zkml import api

    doc = api.sign(attestation, private_key_file=private_key_file, output=out)
    out_print(f"signed by {doc['signature']['signer']}")


@attest.command("publish")
@click.argument("attestation", type=_existing)
@click.option("--registry", help="AttestationRegistry address (default: deploy a new registry).")
@_rpc
@_key
def attest_publish_cmd(attestation: Path, registry: str | None, rpc: str | None, private_key_file: Path | None) -> None:
    """Submit ATTESTATION's proof to a registry, which verifies it on chain before recording it;
    registers the model and its verifier on first use. Writes the chain fields into ATTESTATION."""
    from zkml.attest import document as D
    from zkml.attest.owner import publish
    from zkml.evm.chain import connect

    doc = D.read(attestation)
    chain = connect(rpc, private_key_file)
    with step("Publishing"):
        doc = publish(doc, chain, registry, log=lambda m: err.print(m, highlight=False, soft_wrap=True))
    _write_doc(attestation, doc)
    ch = doc["chain"]
    out_print(f"recorded as attestation {ch['attestation_id']} in registry {ch['registry']} on chain {ch['chain_id']} "
              f"(tx {ch['tx_hash']})")


@attest.command("revoke")
@click.argument("attestation", type=_existing)
@_rpc
@_key
def attest_revoke_cmd(attestation: Path, rpc: str | None, private_key_file: Path | None) -> None:
    """Revoke a published attestation (only the model's owner can)."""
    from zkml.attest import document as D
    from zkml.attest.owner import revoke
    from zkml.evm.chain import connect

    doc = D.read(attestation)
    revoke(doc, connect(rpc, private_key_file))
    out_print(f"attestation {doc['chain']['attestation_id']} revoked in registry {doc['chain']['registry']}")


@main.command("audit")
@_reference
@click.option("--registry", required=True, help="AttestationRegistry address.")
@click.option("--model", help="Only this model id (0x…).")
@click.option("--onnx", "onnx_file", type=_existing, help="Check that this ONNX file is the registered model (hashes to its "
              "id) and that each published key is made for the circuit it compiles to (the key column).")
@click.option("--ptau", type=_existing, help="The phase-1 .ptau of the bundles' setup, for the key check (default: "
              "each bundle's development ptau).")
@_rpc
@_json
def audit_cmd(registry: str, model: str | None, onnx_file: Path | None, ptau: Path | None, rpc: str | None,
              as_json: bool) -> None:
    """Re-check every attestation in a registry: proof (engine or --reference py_ecc, and on chain), claim hash,
    verifying key and verifier bytecode, revocation, and optionally the ONNX file.
    Exit 0 when every live attestation passes, 1 when one fails, 2 when the audit cannot run."""
    from rich.table import Table

    from zkml.attest.audit import audit
    from zkml.evm.chain import connect

    with _verdict(as_json, policy=True, registry=registry):
        chain = connect(rpc, read_only=True)
        with step("Auditing"):
            rows = audit(chain, registry, model, onnx_file, ptau=ptau)
    failed = [r for r in rows if not r.ok]
    if as_json:
        _emit({"verdict": "PASS" if rows and not failed else "FAIL", "registry": registry, "chain_id": chain.chain_id,
               "ok": not failed, "attestations": [r.as_json() for r in rows]})
    else:
        columns = list(dict.fromkeys(k for r in rows for k in r.checks))  # a committed model's rows add "weights"
        t = Table("id", "model", "kind", "block", "status", *columns, title=f"registry {registry}")
        out.print("checks: vk = the published key hashes to the registered vkHash; bytecode = the deployed verifier is "
                  "the code compiled from that key; claim = the recorded hash of the public inputs; proof / on chain = "
                  "the proof verifies; onnx = the file hashes to the model id; key = the published key is made for the circuit "
                  "the ONNX file compiles to; weights (--weights committed) = the proof's weights commitment is the "
                  "registered model's", highlight=False, soft_wrap=True)
        for r in rows:
            status = f"revoked: {r.revoked}" if r.revoked else ("[green]valid[/green]" if r.ok else "[red]FAILED[/red]")
            cells = {k: (("[green]key ok[/green]" if v[0] else "[red]key FAIL[/red]") if k == "key" else
                         ("[green]ok[/green]" if v[0] else "[red]FAIL[/red]")) for k, v in r.checks.items()}
            t.add_row(str(r.attestation_id), r.model_id[:10] + "…", r.kind, str(r.block), status,
                      *(cells.get(k, "—") for k in columns))
        out.print(t)
        for r in failed:
            for name, (ok, detail) in r.checks.items():
                if not ok:
                    out.print(f"attestation {r.attestation_id}: {name}: {detail}", highlight=False)
        if not rows:
            out.print("no attestations" + (" for this model" if model or onnx_file else ""))
    if failed or not rows:
        sys.exit(1)


@main.command("check")
@_reference
@click.argument("attestation", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Policy file (TOML): signers, models, kinds, min_accuracy, min_accuracy_lower_bound, min_recall, "
                   "min_recall_lower_bound, confidence, min_samples, max_age_days, require_onchain, require_key_check.")
@click.option("--onnx", "onnx_file", type=_existing, help="The ONNX model, for require_key_check.")
@click.option("--bundle", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The bundle whose key is checked (default: the one the attestation names).")
@click.option("--ptau", type=_existing, help="The phase-1 .ptau of the bundle's setup (default: its development ptau).")
@_rpc
@_json
def check_cmd(attestation: Path, policy_file: Path, onnx_file: Path | None, bundle: Path | None, ptau: Path | None,
              rpc: str | None, as_json: bool) -> None:
    """Test ATTESTATION against an insurer's policy: PASS/FAIL per rule with the reason.
    Exit 0 pass, 1 fail, 2 could not check (bad file, policy error, unreachable chain)."""
    from zkml import api

    with _verdict(as_json, policy=True, attestation=str(attestation)):
        report = api.check(attestation, policy_file, onnx=onnx_file, bundle=bundle, ptau=ptau, rpc=rpc)
    if as_json:
        _emit(report.to_json())
    else:
        for r in report.rules:
            out.print(f"{'[green]PASS[/green]' if r.passed else '[red]FAIL[/red]'}  {r.rule:9} {r.reason}", highlight=False)
        out.print(f"verdict: {'[green]PASS[/green]' if report.passed else '[red]FAIL[/red]'}")
    if not report.passed:
        sys.exit(1)


@main.command("inspect")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_json
def inspect_cmd(bundle: Path, as_json: bool) -> None:
    """Explain a bundle: model, configuration, per-node bounds and constraints, files (each
    checked against its recorded hash: exit 1 when one is missing or does not match)."""
    from zkml.bundle import store
    from zkml.errors import FormatError

    m = store.read_manifest(bundle)
    if as_json:
        status = {name: store.file_status(bundle, m, name) for name in m["files"]}
        _emit({"bundle": str(bundle), "ok": not any(status.values()), "manifest": m,
               "files": {name: {"sha256": h, "status": status[name] or "ok"} for name, h in m["files"].items()}})
        bad = [f"{name} {why}" for name, why in status.items() if why]
    else:
        bad = _inspect_text(bundle, m)
    if bad:
        raise FormatError(f"{bundle}: {'; '.join(bad)}; recompile the bundle or re-run `zkml setup`")


def _inspect_text(bundle: Path, m: dict) -> list[str]:
    """The human-readable form of `zkml inspect`; returns the files that fail their hash."""
    from rich.table import Table

    from zkml.bundle import store
    from zkml.errors import FormatError
    from zkml.formats.jsonfile import field

    where = str(bundle / store.MANIFEST)
    inp = m["input"]
    out_print(f"[bold]{escape(m['name'])}[/bold]  backend {escape(str(m.get('backend')))} over {escape(str(m.get('curve')))}")
    out_print(f"model sha256 {escape(m['model']['sha256'])}  weights sha256 {escape(m['model']['weights_sha256'])}")
    out_print(f"input '{escape(inp['name'])}' shape {inp['shape']} ({inp['visibility']}, "
              f"{inp['bits']}-bit signed, 2^-{inp['frac']} steps)")
    rng = inp.get("range")
    if rng:
        out_print(f"calibrated input range per {rng.get('per', 'element')} from {rng.get('samples', '?')} samples, "
                  f"margin {rng['margin'] * 100:g}%: prove refuses an input outside it")
    else:
        out_print(f"no calibrated input range recorded: prove checks only |x| < {2 ** (inp['bits'] - 1 - inp['frac']):g}")
    c = field(m, "circuit", dict, where)
    out_print(f"{c.get('constraints')} constraints, {c.get('wires')} wires, {c.get('public')} public signals"
              + (" and the lookup challenge" if c.get("lookups") else ""))
    lk = c.get("lookups")
    if isinstance(lk, dict) and isinstance(lk.get("tables"), list):
        parts = [f"{escape(str(t.get('name')))}: {t.get('rows')} rows x {t.get('columns')}, {t.get('lookups')} lookups"
                 for t in lk["tables"] if isinstance(t, dict)]
        out_print(f"lookups (two-round Groth16, limb width {lk.get('range_width')}): " + "; ".join(parts))
    if "fidelity" in m:
        f = m["fidelity"]
        if f.get("argmax_agreement") is None:  # compiled where no float oracle could run the model
            out_print(f"fidelity: not measured ({escape(str(f.get('reason')))})")
        else:
            out.print(f"fidelity: argmax agreement {f['argmax_agreement']:.1%}, max |error| {f['max_abs_error']:.4g} "
                      f"over {f['samples']} samples" + (f" ({f['oracle']})" if f.get("oracle", "onnxruntime") != "onnxruntime" else ""))
    per_node = m.get("fidelity", {}).get("nodes") if isinstance(m.get("fidelity"), dict) else None
    per_node = per_node if isinstance(per_node, dict) else {}
    bounds = m.get("approximations") if isinstance(m.get("approximations"), dict) else {}
    t = Table("node", "op", "shape", "frac", "min", "max", "constraints", "max |err| vs float", "error bound")
    for i, s in enumerate(field(m, "nodes", list, where) if "nodes" in m else []):
        if not isinstance(s, dict):
            raise FormatError(f"{where}: field 'nodes[{i}]' must be an object")
        e = per_node.get(s.get("node"))
        err = f"{e['max_abs_error']:.3g} (peak {e['float_peak']:.3g})" if isinstance(e, dict) and isinstance(
            e.get("max_abs_error"), (int, float)) and isinstance(e.get("float_peak"), (int, float)) else ""
        bd = bounds.get(s.get("node"))
        bound = bd.get("error_bound", bd.get("interpolation_error")) if isinstance(bd, dict) else None
        t.add_row(*(escape(str(s.get(k))) for k in ("node", "op", "shape", "frac", "lo", "hi", "constraints")),
                  escape(err), f"{bound:.3g}" if isinstance(bound, (int, float)) else "")
    out.print(t)
    bad = []
    for name, h in m["files"].items():
        status = store.file_status(bundle, m, name)
        if status:
            bad.append(f"{name} {status}")
        mark = "[green]ok[/green]" if status is None else f"[red]{escape(status.upper() if status == 'missing' else status)}[/red]"
        out_print(f"  {escape(name)}  sha256 {h[:16]}…  {mark}")
    return bad


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
