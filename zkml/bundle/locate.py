"""Finding the bundle a proof was made with. Proof files name their bundle by the hash of its
verifying key, never by a path (a path is the prover's local detail and breaks when the proof
moves), so the verifier looks in the usual places for a bundle whose key has that hash."""

from __future__ import annotations

from pathlib import Path

from zkml.bundle import store
from zkml.errors import CannotCheck


def candidates(proof_path: Path, cwd: Path | None = None) -> list[Path]:
    """Where a bundle is looked for, in order: the proof's folder, the bundles directly inside it
    and in its circuits/ folder, the same for its parent folder, then circuits/*/ under the
    current directory."""
    folder = Path(proof_path).absolute().parent
    places: list[Path] = []
    for d in (folder, folder.parent):
        places.append(d)
        places += _subfolders(d) + _subfolders(d / "circuits")
    places += _subfolders((cwd or Path.cwd()) / "circuits")
    seen, out = set(), []
    for p in places:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def find_bundle(proof_path: Path, vk_sha256: str, cwd: Path | None = None) -> Path:
    """The first candidate whose verification_key.json hashes to ``vk_sha256``; CannotCheck
    (exit 2) when there is none."""
    for d in candidates(proof_path, cwd):
        vk = d / store.VK_FILE
        try:
            if (d / store.MANIFEST).is_file() and vk.is_file() and store.sha256_file(vk) == vk_sha256:
                return d
        except OSError:
            continue
    raise CannotCheck(f"{proof_path}: cannot find the bundle it was made with (verifying key {vk_sha256[:16]}…); "
                      "pass --bundle DIR")


def _subfolders(d: Path) -> list[Path]:
    try:
        return sorted(p for p in d.iterdir() if p.is_dir() and (p / store.MANIFEST).is_file())
    except OSError:
        return []
