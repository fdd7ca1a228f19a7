"""hashidx: approximate nearest-neighbour search by learned sign hashing.

Embeddings are hashed to compact binary codes by a projection trained on them (or on
labels), grouped in partitions, scanned by popcount and re-ranked by exact cosine on the
stored vectors. NumPy in, NumPy out.

>>> import numpy as np, hashidx
>>> vectors = np.load("Data/glove-20k.npy")
>>> index = hashidx.build("words.hidx", vectors)
>>> ids, scores = index.search(vectors[:5], k=10)        # (5, 10) int64 rows, float32 cosines
>>> with index.writer() as w:                             # commit on a clean exit
...     w.add(vectors[:2] * 2)

Main names: :func:`build`, :func:`open` / :class:`Index`, :class:`Writer`, the exceptions in
:mod:`hashidx.errors` (all subclasses of :class:`HashIdxError`); past one index,
:mod:`hashidx.catalog` (groups built from one model, searched as one), :mod:`hashidx.storage`
(indexes and catalogs on S3-compatible object stores, cached and verified on local disk) and
:mod:`hashidx.ray` (catalogs built and served on Ray).
"""
from __future__ import annotations

from . import _native
from .errors import (ClosedError, CorruptIndexError, DimensionError, DuplicateIDError, EmptyInputError, HashIdxError,
                     IDCountError, IDExistsError, IndexIOError, InvalidArgumentError, InvalidAttributesError,
                     InvalidFilterError, InvalidIDError, MalformedInputError, NonFiniteError, NotAnIndexError,
                     PendingChangesError, StorageError, UnknownFormatError, UnknownIDError, UnsupportedVersionError,
                     ZeroVectorError)
from .index import BuildSummary, Index, Item, build, open
from .writer import CommitSummary, Writer
from . import catalog, storage   # noqa: E402,F401  (hashidx.ray is imported on demand: it needs Ray)

__version__: str = _native.lib.hashidx_version().decode()

__all__ = [
    "build", "open", "Index", "Writer", "Item", "BuildSummary", "CommitSummary", "__version__",
    "HashIdxError", "IndexIOError", "UnknownFormatError", "MalformedInputError", "EmptyInputError", "NonFiniteError",
    "ZeroVectorError", "DimensionError", "IDCountError", "DuplicateIDError", "IDExistsError", "InvalidIDError",
    "InvalidArgumentError", "UnknownIDError", "NotAnIndexError", "CorruptIndexError", "UnsupportedVersionError",
    "InvalidAttributesError", "InvalidFilterError", "PendingChangesError", "StorageError", "ClosedError",
]
