"""User-facing errors: one sentence saying what is wrong, where, and what to do.

The CLI prints ``str(err)`` and exits non-zero without a traceback; anything that is not a
``ZkmlError`` is a bug in zkml and keeps its traceback.
"""


class ZkmlError(Exception):
    """A mistake in the user's input (file, option, witness): reported in one line."""

    exit_code = 1


class FormatError(ZkmlError):
    """A file is truncated, malformed, or for another curve/circuit (names the file and field)."""


class Unreadable(FormatError):
    """A file could not be read or decoded at all (no permission, a folder, too large, not UTF-8
    or not JSON). Exit 1 like any bad input, except in the commands that verify: there nothing
    was checked, so they exit 2 (cannot check)."""


class UnsatisfiedWitness(ZkmlError):
    """The witness does not satisfy the R1CS (names the first failing constraint)."""


class CannotCheck(ZkmlError):
    """A check could not be carried out (unreadable input, unreachable chain): the verdict is
    unknown, never a pass. Exit code 2."""

    exit_code = 2


class ChallengeCollision(ZkmlError):
    """A lookup circuit's challenge equals a looked-up value or a table row (1/0 in round 2):
    probability about size / r. Not a user error: the prover re-blinds D, which gives a fresh
    challenge."""
