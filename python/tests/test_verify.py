"""Index.verify: every block's checksum, all shards or the named ones."""
from __future__ import annotations

import os
import shutil

import pytest

import hashidx


def shard_files(path) -> list[str]:
    return sorted(n for n in os.listdir(path) if n.startswith("shard-") and n.endswith(".hidx"))


def test_verify_passes_on_an_intact_index(index_path):
    with hashidx.open(index_path) as index:
        index.verify()
        index.verify(shard_files(index_path))
        index.verify([])                                    # nothing named: nothing read
        index.verify(["shard-999999-000000.hidx"])          # not in this generation: skipped


def test_verify_finds_a_flipped_byte_that_open_does_not_read(index_path, tmp_path):
    """A byte flipped in a shard's body: opening reads only headers and tables, so it opens;
    verify() reads every block and names the file; verify() of other files does not."""
    opened = 0
    size = os.path.getsize(index_path / shard_files(index_path)[0])
    for fraction in (0.2, 0.35, 0.5, 0.65, 0.8):
        copy = tmp_path / f"copy-{fraction}.hidx"
        shutil.copytree(index_path, copy)
        shard = copy / shard_files(copy)[0]
        data = bytearray(shard.read_bytes())
        data[int(size * fraction)] ^= 0x5A
        shard.write_bytes(bytes(data))
        try:
            index = hashidx.open(copy)
        except hashidx.CorruptIndexError:
            continue                                        # a checked-at-open part: caught already
        opened += 1
        with index:
            index.verify(["shard-999999-000000.hidx"])
            with pytest.raises(hashidx.CorruptIndexError, match=shard.name):
                index.verify()
            with pytest.raises(hashidx.CorruptIndexError, match=shard.name):
                index.verify([shard.name])
    assert opened >= 2, "expected most flipped bytes to lie in blocks that only verify() reads"


@pytest.mark.parametrize("files", [["a/b"], ["x\ny"], [""], [3]])
def test_verify_rejects_bad_file_names(index, files):
    with pytest.raises(hashidx.InvalidArgumentError):
        index.verify(files)
