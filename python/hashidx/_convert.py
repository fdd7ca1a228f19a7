"""Python and NumPy values to what the C interface takes: vectors, ids, labels, attributes."""
from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

import numpy as np

from . import _native
from .errors import HashIdxError, InvalidArgumentError, InvalidAttributesError, InvalidIDError, error_from_status

ArrayLike = Union[np.ndarray, Sequence[Sequence[float]], Sequence[float]]

_local = threading.local()


def error_struct() -> _native.Error:
    """This thread's error struct (one per thread, reused: calls on one thread never overlap)."""
    e = getattr(_local, "error", None)
    if e is None:
        e = _local.error = _native.Error()
    return e


def check(status: int, error: _native.Error) -> None:
    """Raises the exception of a failed call."""
    if status != 0:
        raise error_from_status(error.code, error.message.decode("utf-8", "replace"))


def vectors(values: ArrayLike, *, name: str, single_ok: bool = False) -> tuple[np.ndarray, int, bool]:
    """`values` as a C-contiguous 2-D float32 or float16 array (copied only when it is not one
    already), its C dtype, and whether it was a single 1-D vector."""
    if isinstance(values, np.ndarray):
        array = values
    else:
        try:
            array = np.asarray(values)
        except (ValueError, TypeError) as error:
            raise InvalidArgumentError(f"{name}: not an array of numbers ({error})") from None
    single = array.ndim == 1
    if single:
        if not single_ok:
            raise InvalidArgumentError(f"{name}: expected a 2-D array (rows × dimension), got one vector of shape {array.shape}; "
                                       "pass vector[None, :] for one row")
        array = array[None, :]
    elif array.ndim != 2:
        raise InvalidArgumentError(f"{name}: expected a 2-D array (rows × dimension), got shape {array.shape}")
    if array.dtype == np.float32:
        code = _native.FLOAT32
    elif array.dtype == np.float16:
        code = _native.FLOAT16
    elif array.dtype.kind in "fiu":
        array = array.astype(np.float32)
        code = _native.FLOAT32
    else:
        raise InvalidArgumentError(f"{name}: expected float32, float16 or float64 numbers, got dtype {array.dtype}")
    if not array.flags.c_contiguous or not array.dtype.isnative:
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))
    if array.shape[1] == 0:
        raise InvalidArgumentError(f"{name}: vectors of dimension 0")
    return array, code, single


def lines(values: Iterable[Any] | None, *, count: int | None, name: str) -> bytes | None:
    """Ids (strings or integers) as one '\\n'-separated UTF-8 buffer, one per row."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        raise InvalidArgumentError(f"{name}: expected a sequence of ids, got a single {type(values).__name__}")
    items = [v if isinstance(v, str) else _id_text(v, name) for v in values]
    if count is not None and len(items) != count:
        raise InvalidArgumentError(f"{name}: {len(items)} ids for {count} rows; give one id per row")
    for i, item in enumerate(items):
        if not item:
            raise InvalidIDError(f"{name}: id {i} is empty; every item needs a non-empty id")
        if "\n" in item or "\r" in item:
            raise InvalidIDError(f"{name}: id {i} holds a line break; ids are one line of printable text")
    try:
        return "\n".join(items).encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidIDError(f"{name}: an id is not valid Unicode ({error})") from None


def _id_text(value: Any, name: str) -> str:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8")
    raise InvalidArgumentError(f"{name}: ids are strings or integers, got {type(value).__name__}")


def labels(values: Any, *, count: int) -> bytes | None:
    """Labels per row — an integer array (negative: none), or per row a label, a list of
    labels or None — as the C interface's lines of comma-separated names."""
    if values is None:
        return None
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        if values.ndim != 1 or len(values) != count:
            raise InvalidArgumentError(f"labels: expected {count} integers (one per row), got shape {values.shape}")
        rows = ["" if v < 0 else str(v) for v in values.tolist()]
    else:
        rows = []
        for i, row in enumerate(values):
            if row is None:
                names: list[str] = []
            elif isinstance(row, (str, int, np.integer)):
                names = [] if isinstance(row, (int, np.integer)) and row < 0 else [str(row)]
            else:
                names = [str(x) for x in row]
            for n in names:
                if "," in n or "\n" in n or "\r" in n:
                    raise InvalidArgumentError(f"labels: row {i}: label {n!r} holds a comma or line break")
            rows.append(",".join(names))
        if len(rows) != count:
            raise InvalidArgumentError(f"labels: {len(rows)} rows of labels for {count} vectors; give one per row")
    return "\n".join(rows).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (np.ndarray, tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not an attribute value (str, int, float, bool, list of str or None)")


def attributes(rows: Sequence[Mapping[str, Any] | None] | None, *, count: int) -> bytes | None:
    """One JSON object per row (None or {}: no attributes), as JSON lines."""
    if rows is None:
        return None
    if isinstance(rows, Mapping):
        raise InvalidAttributesError("attributes: expected one mapping per row (a list of dicts), got one dict")
    out = []
    for i, row in enumerate(rows):
        if row is None:
            out.append("{}")
            continue
        if not isinstance(row, Mapping):
            raise InvalidAttributesError(f"attributes: row {i} is a {type(row).__name__}, not a mapping of names to values")
        for key, value in row.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidAttributesError(f"attributes: row {i}: {key!r} is {value}, not a finite number")
        try:
            out.append(json.dumps(row, ensure_ascii=False, default=_json_default, allow_nan=False))
        except (TypeError, ValueError) as error:
            raise InvalidAttributesError(f"attributes: row {i}: {error}") from None
    if len(out) != count:
        raise InvalidAttributesError(f"attributes: {len(out)} rows for {count} vectors; give one per row")
    return "\n".join(out).encode("utf-8")


def text(value: str, *, name: str) -> bytes:
    """A string argument as UTF-8 bytes for a NUL-terminated C string."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name}: expected a string, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidArgumentError(f"{name}: holds a NUL character")
    return value.encode("utf-8", "surrogatepass")


def positive_or_default(value: int | None, *, name: str, limit: int = 2**31 - 1) -> int:
    """An optional positive count as the C interface's int (0: the default)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgumentError(f"{name}: expected an integer, got {type(value).__name__}")
    if not 0 < value <= limit:
        raise InvalidArgumentError(f"{name}: must be 1…{limit}, got {value}")
    return int(value)


def rerank_code(value: Any) -> int:
    """A ranking name ('cosine', 'learned', 'blend' or None: the index's) as the C enum."""
    if value not in _native.RERANK:
        raise InvalidArgumentError(f"rerank: must be 'cosine', 'learned', 'blend' or None, got {value!r}")
    return _native.RERANK[value]


def unit_interval(value: Any, *, name: str) -> float:
    """A number in [0, 1] (a weight), as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not 0 <= value <= 1:
        raise InvalidArgumentError(f"{name}: must be a number between 0 and 1, got {value!r}")
    return float(value)


__all__ = ["HashIdxError"]
