#!/usr/bin/env python3
"""Writes the committed seed corpus of the fuzz targets (Python standard library only).

    python3 Fuzz/seeds.py            # rewrites Fuzz/corpus/{npy,fvecs,fbin,ids,groundtruth}
    HASHIDX_FUZZ_WRITE_SEEDS=Fuzz/corpus/manifest .build-fuzz/fuzz-manifest   # and so on

The manifest and shard seeds are the files of the harness's reference index, written by
the target binaries themselves (see scripts/fuzz.sh and Fuzz/README.md).
"""
import os, struct

HERE = os.path.dirname(os.path.abspath(__file__))


def npy(descr, shape, payload, version=1, fortran=False):
    shape_text = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", shape_text)
    prefix = 10 if version == 1 else 12
    while (prefix + len(header) + 1) % 64:
        header += " "
    header += "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + payload


def floats(values, code="f"):
    return struct.pack("<%d%s" % (len(values), code), *values)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    rows = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [3.0, 1.0, 1.0], [-2.0, 0.5, 0.125]]
    flat = [v for r in rows for v in r]
    write("npy", "f4.npy", npy("<f4", (4, 3), floats(flat)))
    write("npy", "f2.npy", npy("<f2", (4, 3), floats(flat, "e")))
    write("npy", "f8-v2.npy", npy("<f8", (4, 3), floats(flat, "d"), version=2))
    write("npy", "one-row.npy", npy("<f4", (1, 3), floats(rows[0])))
    write("fvecs", "rows.fvecs", b"".join(struct.pack("<i", 3) + floats(r) for r in rows))
    write("fvecs", "one.fvecs", struct.pack("<i", 1) + floats([1.0]))
    write("fbin", "rows.fbin", struct.pack("<II", 4, 3) + floats(flat))
    write("fbin", "one.fbin", struct.pack("<II", 1, 2) + floats([1.0, -1.0]))
    write("ids", "words.txt", "the\nof\nand\nnaïve\n東京\n".encode())
    write("ids", "crlf.txt", b"a\r\nb\r\nc")
    gt = [[0, 2, 1], [3, 1, 0]]
    gflat = [v for r in gt for v in r]
    write("groundtruth", "i4.npy", b"\x00" + npy("<i4", (2, 3), struct.pack("<6i", *gflat)))
    write("groundtruth", "i8.npy", b"\x00" + npy("<i8", (2, 3), struct.pack("<6q", *gflat)))
    write("groundtruth", "gt.ivecs", b"\x01" + b"".join(struct.pack("<i", 3) + struct.pack("<3i", *r) for r in gt))
    write("groundtruth", "gt.ibin", b"\x02" + struct.pack("<II", 2, 3) + struct.pack("<6i", *gflat))


if __name__ == "__main__":
    main()
