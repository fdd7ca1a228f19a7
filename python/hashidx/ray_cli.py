"""``hashidx-ray``: build a catalog on a Ray cluster, or serve one on Ray Serve.

    hashidx-ray build s3://bucket/embeddings/ --catalog s3://bucket/catalogs/products \\
        --id-column sku --attribute-column price --rows-per-group 2000000 --s3-endpoint host:9000
    hashidx-ray serve s3://bucket/catalogs/products --port 8000 --writable --token-file token.txt

The cluster is the one ``--address`` names (default ``auto``: the local node's cluster).
S3 credentials come from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (passed on to the
tasks and replicas), else each node's own AWS credential chain; ``--s3-endpoint`` points at
an S3-compatible store. (Also ``python -m hashidx.ray_cli``.)
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any, Optional

from .errors import HashIdxError


def _filesystem(args: argparse.Namespace) -> Any:
    if not args.s3_endpoint and not args.s3_region:
        return None
    import pyarrow.fs
    options: dict = {"region": args.s3_region or "us-east-1", "connect_timeout": 10, "request_timeout": 60}
    if args.s3_endpoint:
        options.update(endpoint_override=args.s3_endpoint, scheme=args.s3_scheme)
    # Keys from this process's environment travel with the filesystem to the Ray tasks and
    # replicas (whose nodes may not have them); without them each node uses its own chain.
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        options.update(access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                       session_token=os.environ.get("AWS_SESSION_TOKEN"))
    return pyarrow.fs.S3FileSystem(**options)


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hashidx-ray", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--address", default="auto", help="the Ray cluster to use (default: auto)")
        p.add_argument("--s3-endpoint", help="host:port of an S3-compatible store (default: AWS)")
        p.add_argument("--s3-scheme", default="https", choices=["http", "https"])
        p.add_argument("--s3-region", help="the store's region (default us-east-1 with --s3-endpoint)")
        p.add_argument("--cache-dir", help="each node's cache of verified group copies (object-store catalogs)")

    build = commands.add_parser("build", help="build a catalog from .npy or Parquet files by Ray tasks")
    build.add_argument("sources", nargs="+", help=".npy/.parquet files or directories, local or s3://")
    build.add_argument("--catalog", required=True, help="the catalog: a directory every node sees, or s3://bucket/prefix")
    build.add_argument("--column", default="embedding", help="the Parquet column of the vectors")
    build.add_argument("--id-column", help="the Parquet column of the ids (default: global row numbers)")
    build.add_argument("--attribute-column", action="append", default=[], help="a column to keep as an attribute (repeat)")
    build.add_argument("--groups", type=_positive, help="groups (default: rows / --rows-per-group)")
    build.add_argument("--rows-per-group", type=_positive, default=1_000_000)
    build.add_argument("--sample-size", type=_positive, default=100_000, help="rows the model is trained on")
    build.add_argument("--bits", type=_positive)
    build.add_argument("--partitions", type=int)
    build.add_argument("--float32-vectors", action="store_true")
    build.add_argument("--task-cpus", type=float, default=1.0)
    common(build)

    serve = commands.add_parser("serve", help="serve a catalog on Ray Serve until interrupted")
    serve.add_argument("catalog", help="the catalog: a directory every node sees, or s3://bucket/prefix")
    serve.add_argument("--host", default="127.0.0.1", help="the HTTP proxies' address (default 127.0.0.1)")
    serve.add_argument("--port", type=_positive, default=8000)
    serve.add_argument("--replicas", type=_positive, default=2)
    serve.add_argument("--deadline", type=float, default=1.0, help="seconds a group has to answer a search")
    serve.add_argument("--writable", action="store_true", help="take writes (one writer per group)")
    serve.add_argument("--token-file", help="a file holding the bearer token (or HASHIDX_TOKEN)")
    serve.add_argument("--name", default="hashidx", help="the Serve application's name")
    serve.add_argument("--route-prefix", default="/")
    serve.add_argument("--refresh", type=float, default=1.0, help="seconds between reads of a group's CURRENT (object stores)")
    common(serve)
    return parser


def _token(args: argparse.Namespace) -> Optional[str]:
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as f:
            token = f.read(4096).strip()
        if not token:
            raise ValueError(f"{args.token_file}: empty")
        return token
    return os.environ.get("HASHIDX_TOKEN") or None


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        import ray
    except ImportError:
        print("hashidx-ray: needs Ray (pip install 'ray[data,serve]')", file=sys.stderr)
        return 1
    from . import ray as hray
    try:
        filesystem = _filesystem(args)
        ray.init(address=args.address, log_to_driver=False)
        if args.command == "build":
            catalog = hray.build(args.sources if len(args.sources) > 1 else args.sources[0], args.catalog,
                                 column=args.column, id_column=args.id_column, attribute_columns=args.attribute_column,
                                 groups=args.groups, rows_per_group=args.rows_per_group, sample_size=args.sample_size,
                                 bits=args.bits, partitions=args.partitions, float32_vectors=args.float32_vectors,
                                 task_cpus=args.task_cpus, catalog_filesystem=filesystem,
                                 filesystem=filesystem if any("://" in p for p in args.sources) else None,
                                 cache_dir=args.cache_dir)
            print(json.dumps({"catalog": catalog.path, "generation": catalog.generation, "rows": len(catalog),
                              "groups": [g.name for g in catalog.groups]}))
            catalog.close()
            return 0
        from ray import serve
        serve.start(http_options={"host": args.host, "port": args.port})
        hray.serve(args.catalog, replicas=args.replicas, token=_token(args), deadline_s=args.deadline, name=args.name,
                   route_prefix=args.route_prefix, writable=args.writable, filesystem=filesystem,
                   cache_dir=args.cache_dir, refresh_s=args.refresh)
        print(json.dumps({"serving": args.catalog, "url": f"http://{args.host}:{args.port}{args.route_prefix}"}), flush=True)
        stop = threading.Event()
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, lambda *_: stop.set())
        stop.wait()
        serve.delete(args.name)
        return 0
    except (HashIdxError, ValueError, OSError, ConnectionError) as error:
        print(f"hashidx-ray: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
