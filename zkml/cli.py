"""The ``zkml`` command line: a table of commands that resolve paths, call the library, and
write files. User mistakes (``ZkmlError``) print one line and exit non-zero, no traceback."""

from __future__ import annotations

import os
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console

from zkml import __version__
from zkml.errors import ZkmlError

err = Console(stderr=True)
out = Console()


class _Group(click.Group):
    """Turns ``ZkmlError`` into one red line and its exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ZkmlError as e:
            err.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)
            ctx.exit(e.exit_code)


@contextmanager
def step(message: str):
    """A spinner on stderr while a long step runs."""
    with err.status(message, spinner="dots"):
        yield


def _summary(started: float, outputs: list[Path]) -> None:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sizes = ", ".join(f"{p.name} {_size(p)}" for p in outputs if p.exists())
    err.print(
        f"[green]done[/green] in {time.perf_counter() - started:.2f} s, "
        f"peak memory {peak_mb:.0f} MB" + (f"; wrote {sizes}" if sizes else ""),
        highlight=False,
    )


def _size(p: Path) -> str:
    n = p.stat().st_size
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zkml")
def main() -> None:
    """Zero-knowledge proofs about machine-learning models (Groth16 over BN254)."""


@main.group(cls=_Group)
def groth16() -> None:
    """Groth16 on circom/snarkjs files: ptau-new, setup, contribute, prove, verify, export-vk."""


_existing = click.Path(exists=True, dir_okay=False, path_type=Path)
_output = click.Path(dir_okay=False, path_type=Path)


@groth16.command("ptau-new")
@click.argument("power", type=click.IntRange(1, 24))
@click.argument("ptau_file", type=_output, default="dev.ptau")
def ptau_new_cmd(power: int, ptau_file: Path) -> None:
    """A prepared development .ptau of 2^POWER (insecure: for tests and benchmarks only)."""
    from zkml.formats.ptau import write_dev_ptau
    from zkml.groth16.setup import DEV_TAU_WARNING, DevTau

    err.print(f"[yellow]{DEV_TAU_WARNING}[/yellow]")
    t0 = time.perf_counter()
    dev = DevTau.random()
    with step(f"Computing powers of tau up to 2^{power}"):
        write_dev_ptau(ptau_file, power, dev.tau, dev.alpha, dev.beta)
    _summary(t0, [ptau_file])


@groth16.command("setup")
@click.argument("r1cs_file", type=_existing)
@click.argument("zkey_file", type=_output, default="circuit_final.zkey")
@click.option("--ptau", type=_existing, help="Phase-1 powers of tau from a ceremony (.ptau).")
@click.option("--dev", is_flag=True,
              help="Generate a development tau on this machine (insecure, for testing only).")
def setup_cmd(r1cs_file: Path, zkey_file: Path, ptau: Path | None, dev: bool) -> None:
    """Circuit keys for R1CS_FILE, with one contribution applied, written to ZKEY_FILE."""
    from zkml.formats.r1cs import read_r1cs
    from zkml.formats.zkey import write_zkey
    from zkml.groth16 import setup

    if bool(ptau) == dev:
        raise ZkmlError("give exactly one of --ptau FILE (a ceremony) or --dev (testing only)")
    t0 = time.perf_counter()
    with step(f"Reading {r1cs_file}"):
        r1cs = read_r1cs(r1cs_file)
    if dev:
        err.print(f"[yellow]{setup.DEV_TAU_WARNING}[/yellow]")
        with step("Computing keys from a development tau"):
            pk = setup.setup_from_secrets(r1cs, setup.DevTau.random())
    else:
        from zkml.formats.ptau import read_ptau
        from zkml.groth16.contribute import contribute

        with step(f"Reading {ptau}"):
            tau = read_ptau(ptau)
        with step("Computing keys from the powers of tau"):
            pk = setup.setup_from_ptau(r1cs, tau, source=str(ptau))
        with step("Applying the first contribution"):
            pk = contribute(pk, name="zkml setup")
    with step(f"Writing {zkey_file}"):
        write_zkey(zkey_file, pk)
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
    from zkml.formats.zkey import read_zkey, write_zkey
    from zkml.groth16.contribute import contribute

    t0 = time.perf_counter()
    with step(f"Reading {zkey_in}"):
        pk = read_zkey(zkey_in)
    with step("Contributing"):
        pk = contribute(pk, entropy.encode(), name)
    with step(f"Writing {zkey_out}"):
        write_zkey(zkey_out, pk)
    err.print(f"contribution #{len(pk.contributions)} added", highlight=False)
    _summary(t0, [zkey_out])


@groth16.command("prove")
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
    from zkml.formats.snarkjs_json import write_proof, write_public
    from zkml.formats.wtns import read_wtns
    from zkml.formats.zkey import read_zkey
    from zkml.groth16.prover import prove

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
    write_proof(proof_file, proof)
    write_public(public_file, public)
    _summary(t0, [proof_file, public_file])


@groth16.command("verify")
@click.argument("vk_file", type=_existing, default="verification_key.json")
@click.argument("public_file", type=_existing, default="public.json")
@click.argument("proof_file", type=_existing, default="proof.json")
def verify_cmd(vk_file: Path, public_file: Path, proof_file: Path) -> None:
    """Check PROOF_FILE against VK_FILE and PUBLIC_FILE (independent py_ecc verifier)."""
    from zkml.formats.snarkjs_json import read_proof, read_public, read_vk
    from zkml.groth16.verifier import verify

    vk, public, proof = read_vk(vk_file), read_public(public_file), read_proof(proof_file)
    with step("Verifying"):
        ok = verify(vk, public, proof)
    if ok:
        out.print("[green]OK[/green]: the proof is valid")
        return
    out.print("[red]INVALID[/red]: the proof does not verify for these public signals")
    sys.exit(1)


@groth16.command("export-vk")
@click.argument("zkey_file", type=_existing)
@click.argument("vk_file", type=_output, default="verification_key.json")
def export_vk_cmd(zkey_file: Path, vk_file: Path) -> None:
    """Write the verifying key of ZKEY_FILE as snarkjs's verification_key.json."""
    from zkml.formats.snarkjs_json import write_vk
    from zkml.formats.zkey import read_zkey

    write_vk(vk_file, read_zkey(zkey_file).verifying_key())
    out.print(f"wrote {vk_file}")


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
