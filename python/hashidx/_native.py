"""The C interface (hashidx.h) through ctypes: the library, its structs and its signatures.

ctypes releases the GIL for the length of every call into the library, so searches and
builds on several Python threads run in parallel.
"""
from __future__ import annotations

import ctypes
import os
import sys
from ctypes import POINTER, c_char_p, c_double, c_float, c_int32, c_int64, c_size_t, c_uint32, c_uint64, c_void_p
from pathlib import Path

ABI_VERSION = 1
ERROR_MESSAGE_SIZE = 1024

FLOAT32 = 0
FLOAT16 = 1

RERANK = {None: 0, "cosine": 1, "learned": 2, "blend": 3}


class Error(ctypes.Structure):
    _fields_ = [("code", c_int32), ("message", ctypes.c_char * ERROR_MESSAGE_SIZE)]


class BuildOptions(ctypes.Structure):
    _fields_ = [
        ("bits", c_int32),
        ("partitions", c_int32),
        ("float32_vectors", c_int32),
        ("threads", c_int32),
        ("seed", c_uint64),
        ("target_recall", c_double),
        ("rerank", c_int32),
        ("supervision_weight", c_float),
        ("labels", c_char_p),
        ("labels_length", c_size_t),
        ("model_from", c_char_p),
    ]


class BuildSummary(ctypes.Structure):
    _fields_ = [
        ("rows", c_int64),
        ("dimension", c_int32),
        ("bits", c_int32),
        ("shards", c_int32),
        ("partitions", c_int32),
        ("bytes_on_disk", c_int64),
        ("seconds", c_double),
        ("tuned_probes", c_int32),
        ("tuned_candidates", c_int32),
    ]


class SearchOptions(ctypes.Structure):
    _fields_ = [
        ("k", c_int32),
        ("probes", c_int32),
        ("candidates", c_int32),
        ("shortlist", c_int32),
        ("rerank", c_int32),
        ("blend_weight", c_float),
        ("threads", c_int32),
        ("filter", c_char_p),
    ]


class CommitSummary(ctypes.Structure):
    _fields_ = [
        ("generation", c_uint64),
        ("added", c_int64),
        ("deleted", c_int64),
        ("count", c_int64),
        ("seconds", c_double),
    ]


def _library_path() -> str:
    """HASHIDX_LIBRARY, else the library installed beside this module."""
    given = os.environ.get("HASHIDX_LIBRARY")
    if given:
        return given
    name = "libHashIdxC.dylib" if sys.platform == "darwin" else "libHashIdxC.so"
    return str(Path(__file__).resolve().parent / name)


def _load() -> ctypes.CDLL:
    path = _library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as error:
        raise ImportError(
            f"hashidx: cannot load the native library {path}: {error}. Reinstall the package "
            "(pip install ./python builds it) or set HASHIDX_LIBRARY to a built libHashIdxC") from error
    lib.hashidx_abi_version.restype = c_uint32
    lib.hashidx_abi_version.argtypes = []
    found = lib.hashidx_abi_version()
    if found != ABI_VERSION:
        raise ImportError(f"hashidx: {path} implements C ABI version {found}; this package needs {ABI_VERSION}; "
                          "reinstall the package from one checkout")
    status = c_int32
    handle = c_void_p
    err = POINTER(Error)
    signatures = {
        "hashidx_version": (c_char_p, []),
        "hashidx_build_options_init": (None, [POINTER(BuildOptions)]),
        "hashidx_build": (status, [c_char_p, c_void_p, c_int32, c_int64, c_int64, c_char_p, c_size_t, c_char_p, c_size_t,
                                   POINTER(BuildOptions), POINTER(BuildSummary), err]),
        "hashidx_open": (status, [c_char_p, POINTER(handle), err]),
        "hashidx_reopen": (status, [handle, POINTER(handle), err]),
        "hashidx_close": (None, [handle]),
        "hashidx_count": (c_int64, [handle]),
        "hashidx_dimension": (c_int64, [handle]),
        "hashidx_has_string_ids": (c_int32, [handle]),
        "hashidx_info_json": (status, [handle, c_void_p, c_size_t, POINTER(c_size_t), err]),
        "hashidx_verify": (status, [handle, c_char_p, c_size_t, err]),
        "hashidx_search_options_init": (None, [POINTER(SearchOptions)]),
        "hashidx_search": (status, [handle, c_void_p, c_int32, c_int64, c_int64, POINTER(SearchOptions), c_void_p, c_void_p,
                                    c_void_p, err]),
        "hashidx_search_by_id": (status, [handle, c_char_p, POINTER(SearchOptions), c_void_p, c_void_p, c_void_p, err]),
        "hashidx_row_of_id": (status, [handle, c_char_p, POINTER(c_int64), err]),
        "hashidx_ids_of_rows": (status, [handle, c_void_p, c_size_t, c_void_p, c_size_t, POINTER(c_size_t), err]),
        "hashidx_vector": (status, [handle, c_int64, c_void_p, c_int64, err]),
        "hashidx_attributes_json": (status, [handle, c_int64, c_char_p, c_void_p, c_size_t, POINTER(c_size_t), err]),
        "hashidx_writer_open": (status, [c_char_p, c_int32, POINTER(handle), err]),
        "hashidx_writer_add": (status, [handle, c_void_p, c_int32, c_int64, c_int64, c_char_p, c_size_t, c_char_p, c_size_t,
                                        err]),
        "hashidx_writer_upsert": (status, [handle, c_void_p, c_int32, c_int64, c_int64, c_char_p, c_size_t, c_char_p,
                                           c_size_t, err]),
        "hashidx_writer_delete": (status, [handle, c_char_p, c_size_t, c_int32, POINTER(c_int64), err]),
        "hashidx_writer_commit": (status, [handle, POINTER(CommitSummary), err]),
        "hashidx_writer_commit_log": (status, [handle, POINTER(CommitSummary), err]),
        "hashidx_writer_flush": (status, [handle, POINTER(CommitSummary), POINTER(c_int32), err]),
        "hashidx_writer_rollback": (None, [handle]),
        "hashidx_writer_has_changes": (c_int32, [handle]),
        "hashidx_writer_compact": (status, [handle, c_int32, err]),
        "hashidx_writer_close": (status, [handle, err]),
        "hashidx_writer_free": (None, [handle]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


lib = _load()
