"""hashidx-ray, the command line of the distributed build and service, against the test
cluster and the local object store."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from hashidx import catalog as catalogs
from hashidx import storage

from conftest import BUCKET, S3_KEY, S3_PORT, S3_SECRET

CLI = [sys.executable, "-m", "hashidx.ray_cli"]
ENV = {**os.environ, "AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET}
STORE = ["--s3-endpoint", f"127.0.0.1:{S3_PORT}", "--s3-scheme", "http"]


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=ENV, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_build_onto_the_store_and_serve_it(cluster, object_store, words, tmp_path):
    c, _ = cluster
    vectors, _ = words
    np.save(tmp_path / "a.npy", vectors[:5000])
    np.save(tmp_path / "b.npy", vectors[5000:9000])
    url = f"s3://{BUCKET}/cli-{uuid.uuid4().hex[:8]}"
    done = run("build", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--catalog", url, "--groups", "2",
               "--sample-size", "4000", "--address", c.address, "--cache-dir", str(tmp_path / "cache"), *STORE)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary == {"catalog": url, "generation": 1, "rows": 9000, "groups": ["g0000-1", "g0001-1"]}
    manifest = catalogs.read_manifest(storage.ObjectStore(url, filesystem=object_store))
    assert [g["rows"] for g in manifest["groups"]] == [4500, 4500]

    # serve: up until SIGINT, then its application is gone.
    (tmp_path / "token").write_text("cli-token\n")
    from test_service import PORT
    server = subprocess.Popen([*CLI, "serve", url, "--port", str(PORT), "--route-prefix", "/cli", "--name", "cli",
                               "--replicas", "1", "--token-file", str(tmp_path / "token"), "--address", c.address,
                               "--cache-dir", str(tmp_path / "cache"), *STORE],
                              env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        line = server.stdout.readline()
        assert json.loads(line)["url"] == f"http://127.0.0.1:{PORT}/cli", server.stderr.read()[-3000:] if not line else line
        from test_service import call
        status, answer = call("POST", "/cli/v1/search", {"vector": vectors[10].tolist(), "k": 1}, token="cli-token")
        assert status == 200 and answer["results"][0]["id"] == "10"
        assert call("GET", "/cli/v1/info", token=None)[0] == 401
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(60) == 0


def test_bad_invocations_say_what_is_wrong(cluster, tmp_path):
    c, _ = cluster
    done = run("build", "--catalog", str(tmp_path / "x"))
    assert done.returncode == 2 and "sources" in done.stderr
    done = run("build", str(tmp_path / "a.npy"), "--catalog", str(tmp_path / "x"), "--groups", "0")
    assert done.returncode == 2 and "positive" in done.stderr
    done = run("build", str(tmp_path / "missing.npy"), "--catalog", str(tmp_path / "x"), "--address", c.address)
    assert done.returncode == 1 and "missing.npy" in done.stderr
    done = run("serve", str(tmp_path / "nothing"), "--address", c.address, "--port", "8124")
    assert done.returncode == 1 and "no catalog here" in done.stderr
