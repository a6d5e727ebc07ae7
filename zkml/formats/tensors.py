"""Input tensors and data sets from .npz, .npy or .json, checked and named before any heavy
module is imported: one line naming the file and what is wrong with it.

Arrays are read without numpy's loaders trusting the file: an .npz member's declared size is
checked against a limit before it is decompressed (its CRC is checked as it is read), and an
.npy header's shape and dtype must describe exactly the bytes that follow (numpy would allocate
what the header declares first). JSON goes through ``zkml.formats.jsonfile``.

Shapes are never reordered: a file's array must have the model's input shape, the same shape
with leading dimensions of 1 added or dropped, or (only for an effectively one-dimensional
input such as (1, 30)) a flat list of the right length. A (30, 1) array for a (1, 30) input,
or an HWC image for a CHW input, is refused rather than reshaped.
"""

from __future__ import annotations

import io
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from zkml.errors import FormatError
from zkml.formats import jsonfile

MAX_BYTES = 1 << 30  # uncompressed array data in one file
MAX_EXACT_INT = 1 << 53  # larger JSON integers are not exact as float64; inputs stay below 2^30
SUFFIXES = (".npz", ".npy", ".json")
INPUT_KEYS = ("x", "input")
DATASET_KEYS = ("x", "input", "calibration")
# What zipfile and numpy raise on a damaged .npz: a bad directory or CRC, a truncated member,
# a compression method zipfile lacks (it raises NotImplementedError), an encrypted member
# (RuntimeError), a malformed .npy header inside (ValueError).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError,
               RuntimeError, ValueError, OSError)


# --- reading arrays ---------------------------------------------------------------------------

def read_arrays(path, keys: tuple[str, ...], what: str = "input", *, also: tuple[tuple[str, ...], ...] = ()) -> dict:
    """The arrays of ``path`` that a reader needs, as numeric numpy arrays (not yet float).

    ``keys``: accepted names of the main array (the first present wins, else the file's only
    array), returned under ``keys[0]``; ``also``: further arrays that must be present, each as
    its accepted names, returned under the first."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise FormatError(f"{path}: unsupported {what} file type '{path.suffix or '(none)'}'; "
                          "use .npz, .npy or .json")
    if suffix == ".json":
        return _json_arrays(path, keys, what, also)
    if suffix == ".npy":
        if also:
            raise FormatError(f"{path}: an .npy file holds one array, a {what} needs {_names(keys, also)}; "
                              "use .npz or a JSON object")
        return {keys[0]: _npy_array(jsonfile.read_limited(path, MAX_BYTES + (1 << 16)), str(path))}
    return _npz_arrays(path, keys, what, also)


def _names(keys, also) -> str:
    return ", ".join("'" + "' or '".join(k) + "'" for k in (keys,) + tuple(also))


def _npz_arrays(path: Path, keys, what, also) -> dict:
    try:
        with zipfile.ZipFile(path) as zf:
            members = {i.filename.removesuffix(".npy"): i for i in zf.infolist() if i.filename.endswith(".npy")}
            if not members:
                raise FormatError(f"{path}: not a valid .npz (it holds no arrays)")
            out = {keys[0]: _npz_member(path, zf, members[_pick(members, keys, path, what)])}
            for names in also:
                key = next((k for k in names if k in members), None)
                if key is None:
                    raise FormatError(f"{path}: a {what} needs arrays {_names(keys, also)}; "
                                      f"it holds {', '.join(sorted(members))}")
                out[names[0]] = _npz_member(path, zf, members[key])
            return out
    except FormatError:
        raise
    except FileNotFoundError:
        raise FormatError(f"{path}: cannot read (no such file)") from None
    except _ZIP_ERRORS as e:
        raise FormatError(f"{path}: not a valid .npz ({_reason(e)}); write it with numpy.savez") from None


def _npz_member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    where = f"{path}: array '{info.filename.removesuffix('.npy')}'"
    if info.file_size > MAX_BYTES + (1 << 16):
        raise FormatError(f"{where}: {info.file_size:,} bytes uncompressed, more than the {MAX_BYTES:,} zkml reads")
    return _npy_array(zf.read(info), where)  # reading to the end checks the CRC


def _npy_array(raw: bytes, where: str) -> np.ndarray:
    from numpy.lib import format as npy

    fp = io.BytesIO(raw)
    try:
        version = npy.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(fp)
        else:
            raise FormatError(f"{where}: .npy format {version[0]}.{version[1]} is not supported (1.0 and 2.0 are)")
    except FormatError:
        raise
    except (ValueError, SyntaxError, TypeError, EOFError) as e:
        raise FormatError(f"{where}: not a valid .npy array ({_reason(e)})") from None
    if dtype.hasobject or dtype.fields or dtype.subdtype or dtype.kind not in "fiu":
        raise FormatError(f"{where}: holds {dtype} values; zkml reads arrays of numbers (float or int)")
    if any(d < 0 for d in shape):
        raise FormatError(f"{where}: not a valid .npy array (negative dimension in shape {shape})")
    need, have = math.prod(shape) * dtype.itemsize, len(raw) - fp.tell()
    if need != have:
        raise FormatError(f"{where}: its header declares shape {shape} of {dtype} ({need:,} bytes) but "
                          f"{have:,} bytes follow; truncated or not an .npy file")
    return np.frombuffer(raw, dtype, math.prod(shape), fp.tell()).reshape(shape, order="F" if fortran else "C")


def _pick(names, keys, path, what) -> str:
    key = next((k for k in keys if k in names), None)
    if key is None and len(names) == 1:
        key = next(iter(names))
    if key is None:
        raise FormatError(f"{path}: holds arrays {', '.join(sorted(names))}; name the {what} array '{keys[0]}'")
    return key


def _json_arrays(path: Path, keys, what, also) -> dict:
    doc = jsonfile.read_json(path)
    if isinstance(doc, list) and not also:
        return {keys[0]: _json_numbers(doc, str(path), "")}
    if isinstance(doc, dict):
        key = next((k for k in keys if k in doc), None)
        more = [next((k for k in names if k in doc), None) for names in also]
        if key is not None and None not in more:
            out = {keys[0]: _json_numbers(doc[key], str(path), key)}
            for names, k in zip(also, more):
                out[names[0]] = _json_numbers(doc[k], str(path), k)
            return out
        got = "an object with keys " + ", ".join(sorted(doc)[:5]) if doc else "an empty object"
    else:
        got = jsonfile.type_name(doc)
    if also:
        want = "{" + ", ".join(f'"{k[0]}": [...]' for k in (keys,) + tuple(also)) + "}"
    else:
        want = "a JSON list of numbers, " + " or ".join(f'{{"{k}": [...]}}' for k in keys)
    raise FormatError(f"{path}: expected {want}, got {got}")


def _json_numbers(v, where: str, prefix: str) -> np.ndarray:
    """A rectangular nested list of JSON numbers as an array; errors name the index."""
    if not isinstance(v, list):
        name = prefix or "the document"
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            raise FormatError(f"{where}: {name} is a single number; give a list of numbers")
        raise FormatError(f"{where}: {name} must be a list of numbers, got {jsonfile.type_name(v)}")

    def shape_of(v, at: str) -> tuple:
        if isinstance(v, list):
            if not v:
                return (0,)
            shapes = [shape_of(e, f"{at}[{i}]") for i, e in enumerate(v)]
            for i, s in enumerate(shapes):
                if s != shapes[0]:
                    raise FormatError(f"{where}: not a rectangular array: {at}[{i}] has shape {s}, "
                                      f"{at}[0] has {shapes[0]}")
            return (len(v),) + shapes[0]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            shown = f" ({v[:20]!r})" if isinstance(v, str) else ""
            raise FormatError(f"{where}: {at} is {jsonfile.type_name(v)}{shown}, not a number")
        if isinstance(v, int) and abs(v) >= MAX_EXACT_INT:
            raise FormatError(f"{where}: {at} = {str(v)[:12]}… ({len(str(abs(v)))} digits): value too large "
                              "(inputs must stay below 2^30)")
        return ()

    shape_of(v, prefix)
    return np.array(v, dtype=np.float64)


def _reason(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) <= 120 else text[:117] + "..."


# --- checking values and shapes ---------------------------------------------------------------

def finite(arr: np.ndarray, where: str, what: str = "element") -> np.ndarray:
    """``arr`` as float64, refused (naming the first index) when it holds NaN or infinity."""
    x = np.asarray(arr, np.float64)
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        idx = np.unravel_index(bad[0], x.shape)
        at = str(int(idx[0])) if len(idx) == 1 else str(tuple(int(i) for i in idx))
        v = x.ravel()[bad[0]]
        more = f" ({bad.size} values are not finite)" if bad.size > 1 else ""
        raise FormatError(f"{where}: {what} {at} is {'NaN' if np.isnan(v) else '-infinity' if v < 0 else 'infinity'}"
                          f"{more}; inputs must be finite numbers")
    return x


def _strip_ones(shape) -> tuple:
    shape = tuple(shape)
    i = 0
    while i < len(shape) and shape[i] == 1:
        i += 1
    return shape[i:]


def effectively_1d(shape) -> bool:
    return sum(1 for d in shape if d != 1) <= 1


def fits(given, shape) -> bool:
    """True when an array of shape ``given`` holds the model input of shape ``shape`` in its
    layout: equal up to leading 1s, or a flat vector for an effectively 1-D input."""
    given, shape = tuple(given), tuple(shape)
    if _strip_ones(given) == _strip_ones(shape):
        return True
    return effectively_1d(shape) and len(given) == 1 and given[0] == math.prod(shape)


def shape_error(where: str, name: str, given, shape) -> FormatError:
    given, shape = tuple(given), tuple(shape)
    flat = f" (or a flat list of {math.prod(shape)})" if effectively_1d(shape) else ""
    hint = ("; the values are in another layout (zkml does not transpose: for images give channels first, NCHW)"
            if math.prod(given) == math.prod(shape) else "")
    return FormatError(f"{where}: tensor '{name}' needs shape {shape}{flat}, got {given}{hint}")


def load_input(path, shape, name: str = "input") -> np.ndarray:
    """One input tensor of the model's ``shape`` (float64, in that shape) from .npz/.npy (array
    'x', 'input' or the only one) or .json (a list, or {"input": list} / {"x": list})."""
    path = Path(path)
    arr = read_arrays(path, INPUT_KEYS, "input")["x"]
    if not fits(arr.shape, shape):
        raise shape_error(str(path), name, arr.shape, shape)
    return finite(arr, str(path)).reshape(tuple(shape))


def samples_of(xs: np.ndarray, shape, where: str, name: str = "input") -> np.ndarray:
    """Rows of a data set as (N, *shape): each row must fit the input ``shape``; a data set that
    is itself one sample of that shape is one row."""
    xs = np.asarray(xs, np.float64)
    shape = tuple(shape)
    if xs.ndim >= 1 and len(xs) and fits(xs.shape[1:], shape):
        return xs.reshape((len(xs),) + shape)
    if fits(xs.shape, shape):
        return xs.reshape((1,) + shape)
    raise FormatError(f"{where}: samples of shape {tuple(xs.shape[1:])} (in an array of {tuple(xs.shape)}) do not fit "
                      f"the model input '{name}' of shape {shape}; each row must have that shape "
                      "(zkml does not transpose: for images give channels first, NCHW)")


def load_dataset(path, sample_shape=None, name: str = "input") -> np.ndarray:
    """Samples from .npz/.npy (array 'x', 'input', 'calibration' or the only one) or .json (a
    list of samples, or {"x": [...]}); non-empty and finite; as (N, *sample_shape) when given."""
    path = Path(path)
    arr = read_arrays(path, DATASET_KEYS, "samples")["x"]
    if arr.size == 0:
        raise FormatError(f"{path}: holds no samples")
    xs = finite(arr, str(path))
    return xs if sample_shape is None else samples_of(xs, sample_shape, str(path), name)


def load_labelled(path, sample_shape=None, name: str = "input") -> tuple[np.ndarray, np.ndarray]:
    """(samples, integer labels) from .npz with 'x' and 'y' (or 'labels'), or JSON {"x", "y"};
    samples as (N, *sample_shape) when given."""
    path = Path(path)
    arrays = read_arrays(path, ("x",), "test set", also=(("y", "labels"),))
    xs, ys = arrays["x"], arrays["y"]
    if xs.ndim == 0 or ys.ndim != 1 or len(xs) != len(ys):
        raise FormatError(f"{path}: {len(xs) if xs.ndim else 0} samples but labels of shape {tuple(ys.shape)}; "
                          "'y' must hold one integer label per sample")
    if not len(xs):
        raise FormatError(f"{path}: holds no samples")
    xs = finite(xs, str(path))
    ys = finite(ys, str(path), "label")
    if not np.array_equal(ys, np.round(ys)):
        raise FormatError(f"{path}: labels 'y' must be integers (class indices)")
    if sample_shape is not None:
        xs = samples_of(xs, sample_shape, str(path), name)
        if len(xs) != len(ys):
            raise FormatError(f"{path}: {len(xs)} samples of the input's shape but {len(ys)} labels")
    return xs, ys.astype(np.int64)
