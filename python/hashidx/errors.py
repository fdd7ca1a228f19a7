"""The exceptions hashidx raises: one class per kind of error, all under :class:`HashIdxError`.

Each also derives from the built-in exception a Python caller would expect: bad values are
``ValueError``s, an unknown id a ``KeyError``, a file problem an ``OSError``. ``str(error)``
is the library's one-line message, which says what to do.
"""
from __future__ import annotations


class HashIdxError(Exception):
    """Base class of every hashidx error. ``code`` is the C interface's status (hashidx.h)."""

    code = 0

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class IndexIOError(HashIdxError, OSError):
    """A file could not be read or written, or another writer holds the index."""


class UnknownFormatError(HashIdxError, ValueError):
    """A file's type is not one hashidx reads."""


class MalformedInputError(HashIdxError, ValueError):
    """Malformed vectors, ids or labels."""


class EmptyInputError(HashIdxError, ValueError):
    """No rows were given."""


class NonFiniteError(HashIdxError, ValueError):
    """NaN or infinity in a vector or query."""


class ZeroVectorError(HashIdxError, ValueError):
    """An all-zero vector: it has no direction, so no cosine."""


class DimensionError(HashIdxError, ValueError):
    """A vector's length differs from the index's dimension."""


class IDCountError(HashIdxError, ValueError):
    """Not exactly one id per row."""


class DuplicateIDError(HashIdxError, ValueError):
    """The same id appears twice in the input."""


class IDExistsError(HashIdxError, ValueError):
    """An added id is already an item's (``upsert`` replaces items)."""


class InvalidIDError(HashIdxError, ValueError):
    """An id is empty, too long (over 4,096 bytes), holds a control character or is not UTF-8."""


class InvalidArgumentError(HashIdxError, ValueError):
    """An argument or option is out of range or of the wrong type."""


class UnknownIDError(HashIdxError, KeyError):
    """No item has the id."""


class NotAnIndexError(HashIdxError, OSError):
    """The path holds no hashidx index."""


class CorruptIndexError(HashIdxError, OSError):
    """The index's bytes do not match their checksums or sizes."""


class UnsupportedVersionError(HashIdxError, OSError):
    """The index was written in a format version this library does not read."""


class InvalidAttributesError(HashIdxError, ValueError):
    """An attribute value or row is invalid (nested objects, lists of numbers, wrong types)."""


class InvalidFilterError(HashIdxError, ValueError):
    """A filter does not parse, names an attribute the index lacks, or compares it with a value of another type."""


class PendingChangesError(HashIdxError):
    """The writer holds uncommitted changes: commit or roll them back first."""


class StorageError(HashIdxError, OSError):
    """The object store failed a request (unreachable, denied, missing bucket); the message
    names the object and the store's own words."""


class ClosedError(HashIdxError, ValueError):
    """The index or writer was closed."""


_BY_CODE = {
    1: IndexIOError, 2: UnknownFormatError, 3: MalformedInputError, 4: EmptyInputError, 5: NonFiniteError,
    6: ZeroVectorError, 7: DimensionError, 8: IDCountError, 9: DuplicateIDError, 10: IDExistsError, 11: InvalidIDError,
    12: InvalidArgumentError, 13: UnknownIDError, 14: NotAnIndexError, 15: CorruptIndexError,
    16: UnsupportedVersionError, 17: InvalidAttributesError, 18: InvalidFilterError, 20: PendingChangesError,
}


def error_from_status(code: int, message: str) -> HashIdxError:
    """The exception for a C status and its message."""
    return _BY_CODE.get(code, HashIdxError)(message, code)
