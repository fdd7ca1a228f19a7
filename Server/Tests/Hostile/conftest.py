"""Fixtures of the hostile-client suite (Server/Tests/Hostile/README.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import support  # noqa: E402


def pytest_configure(config):
    if not os.access(support.binary(), os.X_OK):
        raise pytest.UsageError(f"no hashidx binary at {support.binary()} (set HASHIDX_BIN or build first)")


def pytest_terminal_summary(terminalreporter):
    if support.NOTES:
        terminalreporter.section("hostile-client measurements")
        for line in support.NOTES:
            terminalreporter.write_line(line)


@pytest.fixture
def index(tmp_path: Path) -> Path:
    """A fresh index of 2,000 × 16 clustered rows, ids sku-0…, four attributes (one per test)."""
    return support.build_index(tmp_path / "data")


@pytest.fixture
def serve(tmp_path: Path, index: Path):
    """Starts `hashidx serve` on the test's index (`serve("--max-k", "5", token=…)`); every
    server is stopped after the test, and one that died during it fails the test."""
    servers: list[support.Server] = []

    def start(*args: str, token: str | None = None, token_mode: int = 0o600, index_path: Path | None = None) -> support.Server:
        workdir = tmp_path / f"server-{len(servers)}"
        workdir.mkdir()
        s = support.Server(index_path or index, list(args), token=token, token_mode=token_mode, workdir=workdir)
        servers.append(s)
        return s

    yield start
    died = [(s, s.proc.returncode) for s in servers if not s.alive()]
    for s in servers:
        s.stop()
    if died:
        s, rc = died[0]
        pytest.fail(f"the server died during the test (exit {rc}); stderr:\n{s.stderr()[-4000:]}", pytrace=False)
