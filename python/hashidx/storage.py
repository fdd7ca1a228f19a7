"""Indexes and catalogs on object storage (S3 or any S3-compatible store), cached on the
nodes' disks and verified by their checksums before use.

An index directory in a store is its files under a prefix, named as on disk
(docs/FORMAT.md §1): ``CURRENT``, ``MANIFEST-G``, ``shard-G-S.hidx``, ``shard-G-K.del``.
Files are never changed once written, so a copy is brought up to date by fetching the files
it lacks:

- :func:`publish` uploads a local index's live files that the store lacks, then ``CURRENT``
  (one PUT, atomic on S3: a reader sees the old or the new generation), then removes the
  files no generation up to the new one needs.
- :class:`IndexCache` keeps verified copies on local disk, one directory per store prefix
  and generation: :meth:`IndexCache.open` reads the store's ``CURRENT``, downloads the files
  of that generation it does not hold (unchanged files are hard links to the copy it has),
  checks every size, opens the copy (which checks manifest, headers and deletion files)
  and reads every downloaded shard's blocks against their CRC-32C before the copy is
  renamed into place and used. A copy that fails is removed and the error names the object.

Locations are a :class:`LocalFolder` (a path) or an :class:`ObjectStore` (a URL such as
``s3://bucket/catalogs/products`` and a ``pyarrow.fs`` filesystem); :func:`location` makes
one from either. ``pyarrow`` is imported only when an object store is used.

>>> import pyarrow.fs, hashidx.storage as storage
>>> fs = pyarrow.fs.S3FileSystem(endpoint_override="127.0.0.1:8333", scheme="http",
...                              access_key="…", secret_key="…")
>>> store = storage.ObjectStore("s3://bucket/words.hidx", filesystem=fs)
>>> storage.publish("words.hidx", store)
>>> index = storage.IndexCache("/var/cache/hashidx").open(store)
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import threading
import time
import uuid
from typing import Any, Iterator, Optional, Union

from .errors import CorruptIndexError, HashIdxError, InvalidArgumentError, NotAnIndexError, StorageError
from .index import Index

#: The largest ``CURRENT`` object read (it holds one file name).
MAX_CURRENT_BYTES = 256
#: The most files one index directory in a store may list.
MAX_INDEX_FILES = 100_000
#: Bytes per read or write call when copying an object.
CHUNK_BYTES = 8 << 20

_MANIFEST = re.compile(r"MANIFEST-(\d{6,})")
_SHARD = re.compile(r"shard-(\d{6,})-\d{6,}\.(?:hidx|del)")


def generation_of(name: str) -> Optional[int]:
    """The generation a file of an index directory belongs to (``MANIFEST-G``,
    ``shard-G-…``), or None for any other name."""
    m = _MANIFEST.fullmatch(name) or _SHARD.fullmatch(name)
    return int(m.group(1)) if m else None


def _check_relative(relative: str) -> str:
    parts = relative.strip("/").split("/")
    if relative.startswith("/") or not relative.strip("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidArgumentError(f"{relative!r}: a relative path inside the location, without '..'")
    return "/".join(parts)


class LocalFolder:
    """A directory on a local or shared filesystem, as a location."""

    def __init__(self, path: Union[str, os.PathLike]) -> None:
        self.path = os.path.abspath(os.fspath(path))

    @property
    def url(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"LocalFolder({self.path!r})"

    def child(self, relative: str) -> "LocalFolder":
        return LocalFolder(os.path.join(self.path, _check_relative(relative)))

    def local_path(self, relative: str = "") -> str:
        return os.path.join(self.path, _check_relative(relative)) if relative else self.path

    def read(self, name: str, limit: int) -> Optional[bytes]:
        path = os.path.join(self.path, name)
        try:
            if os.path.getsize(path) > limit:
                raise CorruptIndexError(f"{path}: larger than {limit} bytes")
            with open(path, "rb") as f:
                return f.read(limit + 1)
        except FileNotFoundError:
            return None

    def write(self, name: str, data: bytes) -> None:
        """Replaces ``name`` atomically and durably (temporary file, fsync, rename, fsync of
        the directory)."""
        os.makedirs(self.path, exist_ok=True)
        temporary = os.path.join(self.path, f"{name}.tmp-{uuid.uuid4().hex[:8]}")
        with open(temporary, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, os.path.join(self.path, name))
        fsync_directory(self.path)

    def list(self) -> dict[str, int]:
        try:
            return {e.name: e.stat().st_size for e in os.scandir(self.path) if e.is_file()}
        except FileNotFoundError:
            return {}

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(self.path, name))

    def remove_tree(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class ObjectStore:
    """A prefix of an object store: ``s3://bucket/some/prefix`` with a ``pyarrow.fs``
    filesystem (default: ``pyarrow.fs.FileSystem.from_uri(url)``, which reads AWS's usual
    environment and files; give a ``pyarrow.fs.S3FileSystem(endpoint_override=…)`` for
    another S3-compatible store, with its ``connect_timeout``/``request_timeout``).
    Picklable: Ray tasks and replicas receive it as an argument."""

    def __init__(self, url: str, filesystem: Any = None) -> None:
        if "://" not in url:
            raise InvalidArgumentError(f"{url!r}: an object store URL such as s3://bucket/prefix")
        import pyarrow.fs
        if filesystem is None:
            try:
                filesystem, root = pyarrow.fs.FileSystem.from_uri(url)
            except (OSError, ValueError) as error:
                raise StorageError(f"{url}: {error}") from None
        else:
            if not isinstance(filesystem, pyarrow.fs.FileSystem):
                raise InvalidArgumentError(f"filesystem: a pyarrow.fs.FileSystem, got {type(filesystem).__name__}")
            root = url.split("://", 1)[1]
        root = root.strip("/")
        if not root:
            raise InvalidArgumentError(f"{url!r}: name a bucket (s3://bucket/prefix)")
        self.filesystem = filesystem
        self.root = root
        self.url = f"{url.split('://', 1)[0]}://{root}"

    def __repr__(self) -> str:
        return f"ObjectStore({self.url!r})"

    def __reduce__(self) -> tuple:
        return (ObjectStore, (self.url, self.filesystem))

    def child(self, relative: str) -> "ObjectStore":
        return ObjectStore(f"{self.url}/{_check_relative(relative)}", self.filesystem)

    def local_path(self, relative: str = "") -> None:
        return None

    def _key(self, name: str) -> str:
        return f"{self.root}/{name}"

    @contextlib.contextmanager
    def _failing(self, what: str, name: str) -> Iterator[None]:
        try:
            yield
        except HashIdxError:
            raise
        except (OSError, ValueError) as error:
            raise StorageError(f"{self.url}/{name}: {what} failed: {error}") from None

    def read(self, name: str, limit: int) -> Optional[bytes]:
        import pyarrow.fs
        with self._failing("reading", name):
            info = self.filesystem.get_file_info(self._key(name))
            if info.type == pyarrow.fs.FileType.NotFound:
                return None
            if info.size is not None and info.size > limit:
                raise CorruptIndexError(f"{self.url}/{name}: larger than {limit} bytes")
            with self.filesystem.open_input_stream(self._key(name)) as f:
                data = f.read(limit + 1)
        if len(data) > limit:
            raise CorruptIndexError(f"{self.url}/{name}: larger than {limit} bytes")
        return data

    def write(self, name: str, data: bytes) -> None:
        """Puts ``name`` (one PUT: readers see the old object or the new one)."""
        with self._failing("writing", name), self.filesystem.open_output_stream(self._key(name)) as f:
            f.write(data)

    def upload(self, path: str, name: str) -> None:
        with self._failing("uploading", name), open(path, "rb") as source, \
                self.filesystem.open_output_stream(self._key(name)) as f:
            while chunk := source.read(CHUNK_BYTES):
                f.write(chunk)

    def download(self, name: str, path: str, size: int) -> None:
        """Copies ``name`` to ``path`` (synced), checking that it has ``size`` bytes."""
        got = 0
        with self._failing("downloading", name), self.filesystem.open_input_stream(self._key(name)) as source, \
                open(path, "wb") as f:
            while chunk := source.read(CHUNK_BYTES):
                got += len(chunk)
                if got > size:
                    break
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        if got != size:
            raise CorruptIndexError(f"{self.url}/{name}: listed with {size} bytes, {'more' if got > size else got} "
                                    "read; the object changed or the transfer was cut: fetch again")

    def list(self) -> dict[str, int]:
        """The objects directly under this prefix: name → size."""
        import pyarrow.fs
        with self._failing("listing", ""):
            infos = self.filesystem.get_file_info(pyarrow.fs.FileSelector(self.root, allow_not_found=True))
        out = {}
        for info in infos:
            if info.type == pyarrow.fs.FileType.File:
                out[info.base_name] = int(info.size or 0)
                if len(out) > MAX_INDEX_FILES:
                    raise CorruptIndexError(f"{self.url}: more than {MAX_INDEX_FILES} objects under one index prefix")
        return out

    def delete(self, name: str) -> None:
        with self._failing("deleting", name), contextlib.suppress(FileNotFoundError):
            self.filesystem.delete_file(self._key(name))

    def remove_tree(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.filesystem.delete_dir(self.root)


Location = Union[LocalFolder, ObjectStore]


def location(where: Union[str, os.PathLike, LocalFolder, ObjectStore], filesystem: Any = None) -> Location:
    """A location from a path, a URL (``s3://…``, with ``filesystem`` if given) or a location."""
    if isinstance(where, (LocalFolder, ObjectStore)):
        return where
    text = os.fspath(where)
    return ObjectStore(text, filesystem) if "://" in text else LocalFolder(text)


def fsync_directory(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_current(where: Location) -> str:
    """The manifest name an index's ``CURRENT`` holds."""
    data = where.read("CURRENT", MAX_CURRENT_BYTES)
    if data is None:
        raise NotAnIndexError(f"{where.url}: no index here (no CURRENT)")
    name = data.decode("utf-8", "replace").strip()
    if generation_of(name) is None or not name.startswith("MANIFEST-"):
        raise CorruptIndexError(f"{where.url}/CURRENT: names {name[:80]!r}, not a manifest")
    return name


def _live_files(directory: str, manifest: str) -> dict[str, int]:
    """The files of `directory` a generation up to `manifest`'s may name: after a commit
    the writer has removed the others (docs/FORMAT.md §1, step 6)."""
    newest = generation_of(manifest)
    return {e.name: e.stat().st_size for e in os.scandir(directory)
            if e.is_file() and (g := generation_of(e.name)) is not None and g <= newest}


def publish(directory: Union[str, os.PathLike], store: ObjectStore, *, present: Optional[dict] = None) -> str:
    """Makes ``store`` hold the local index at ``directory``'s committed generation: uploads
    its files that ``present`` (name → size of what this caller knows the store holds with
    the same bytes; default nothing) lacks, then ``CURRENT``, then removes the store's files
    of other generations. Updates ``present``; returns the manifest name published.

    Only a single writer may publish to one prefix (the store has no lock); ``present`` must
    come from that writer's own uploads and downloads, never from a listing, since a dead
    writer may have left a file of the same name and size."""
    directory = os.fspath(directory)
    manifest = read_current(LocalFolder(directory))
    files = _live_files(directory, manifest)
    if manifest not in files:
        raise CorruptIndexError(f"{directory}: CURRENT names {manifest}, which is not there")
    known = present if present is not None else {}
    for name, size in sorted(files.items(), key=lambda f: f[0].startswith("MANIFEST-")):   # the manifest last
        if known.get(name) != size:
            known.pop(name, None)
            store.upload(os.path.join(directory, name), name)
            known[name] = size
    store.write("CURRENT", f"{manifest}\n".encode())
    for name in store.list():
        if generation_of(name) is not None and name not in files:
            store.delete(name)
            known.pop(name, None)
    return manifest


class IndexCache:
    """Verified local copies of indexes held in object stores, on this node's disk.

    ``directory`` (default ``$HASHIDX_CACHE_DIR``, else ``~/.cache/hashidx``) holds one
    folder per store prefix (named by a hash of its URL) with one verified copy per
    generation; a newer generation's copy shares unchanged files with the older one (hard
    links), and older copies are removed once a newer one is in place (open indexes keep
    their mapped files). ``max_bytes`` bounds the whole cache: the least recently opened
    prefixes not in use are removed to make room, and an index larger than the bound is an
    error. Processes on one node share a cache safely (``flock`` per prefix)."""

    def __init__(self, directory: Union[str, os.PathLike, None] = None, max_bytes: Optional[int] = None) -> None:
        if directory is None:
            directory = os.environ.get("HASHIDX_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "hashidx")
        if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0):
            raise InvalidArgumentError(f"max_bytes: a positive number of bytes, got {max_bytes!r}")
        self.directory = os.path.abspath(os.fspath(directory))
        self.max_bytes = max_bytes
        os.makedirs(self.directory, exist_ok=True)

    def __repr__(self) -> str:
        return f"IndexCache({self.directory!r}, max_bytes={self.max_bytes})"

    def entry(self, store: ObjectStore) -> str:
        """The folder holding ``store``'s copies."""
        return os.path.join(self.directory, hashlib.sha256(store.url.encode()).hexdigest()[:24])

    @contextlib.contextmanager
    def _locked(self, entry: str, blocking: bool = True) -> Iterator[bool]:
        os.makedirs(entry, exist_ok=True)
        fd = os.open(os.path.join(entry, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    def open(self, store: ObjectStore) -> Index:
        """``store``'s index at its current generation, opened from a verified local copy
        (fetched first when this node does not hold that generation)."""
        entry = self.entry(store)
        with self._locked(entry):
            path = self._fetch(store, entry)
            return Index(path)

    def manifest(self, store: ObjectStore) -> str:
        """The generation ``store`` holds now (its ``CURRENT``): one small GET."""
        return read_current(store)

    def writable_copy(self, store: ObjectStore) -> tuple[str, dict]:
        """A private copy of ``store``'s index for one writer (hard links to the verified
        copy: the writer only ever adds files), and what the store holds of it (for
        :func:`publish`'s ``present``). Copies left by dead writers are removed."""
        entry = self.entry(store)
        with self._locked(entry):
            path = self._fetch(store, entry)
            for name in os.listdir(entry):
                if name.startswith("writer-") and not _locked_by_writer(os.path.join(entry, name)):
                    shutil.rmtree(os.path.join(entry, name), ignore_errors=True)
            copy = os.path.join(entry, f"writer-{uuid.uuid4().hex[:12]}")
            os.makedirs(copy)
            present = {}
            for name in os.listdir(path):
                if generation_of(name) is not None:
                    os.link(os.path.join(path, name), os.path.join(copy, name))
                    present[name] = os.path.getsize(os.path.join(path, name))
            shutil.copyfile(os.path.join(path, "CURRENT"), os.path.join(copy, "CURRENT"))
            return copy, present

    # -- fetching ----------------------------------------------------------------------

    def _fetch(self, store: ObjectStore, entry: str) -> str:
        for attempt in range(4):
            manifest = read_current(store)
            final = os.path.join(entry, manifest)
            if os.path.isfile(os.path.join(final, "CURRENT")):
                os.utime(entry)
                return final
            listing = store.list()
            if manifest not in listing:   # a writer moved on and removed it between the two reads
                if attempt == 3:
                    raise CorruptIndexError(f"{store.url}: CURRENT names {manifest}, which the store does not hold")
                time.sleep(0.05 * (attempt + 1))
                continue
            newest = generation_of(manifest)
            wanted = {n: s for n, s in listing.items() if (g := generation_of(n)) is not None and g <= newest}
            if self.max_bytes is not None and sum(wanted.values()) > self.max_bytes:
                raise StorageError(f"{store.url}: {manifest} is {sum(wanted.values())} bytes, more than the cache's "
                                   f"max_bytes {self.max_bytes}; give the cache more room")
            self._evict(entry, sum(wanted.values()))
            try:
                self._download(store, entry, manifest, wanted)
            except CorruptIndexError:
                if manifest != read_current(store) and attempt < 3:   # it changed under us: fetch the new one
                    continue
                raise
            for name in os.listdir(entry):   # older copies (open indexes keep their mapped files)
                if name.startswith("MANIFEST-") and name != manifest:
                    shutil.rmtree(os.path.join(entry, name), ignore_errors=True)
            os.utime(entry)
            return final
        raise StorageError(f"{store.url}: the index changed during four fetches in a row; try again")

    def _download(self, store: ObjectStore, entry: str, manifest: str, wanted: dict[str, int]) -> None:
        previous = max((os.path.join(entry, n) for n in os.listdir(entry) if n.startswith("MANIFEST-")
                        and os.path.isfile(os.path.join(entry, n, "CURRENT"))), key=lambda p: generation_of(os.path.basename(p)) or 0,
                       default=None)
        partial = os.path.join(entry, f".partial-{manifest}-{uuid.uuid4().hex[:8]}")
        os.makedirs(partial)
        try:
            fresh = []
            for name, size in sorted(wanted.items()):
                kept = os.path.join(previous, name) if previous else None
                if kept and os.path.isfile(kept) and os.path.getsize(kept) == size:
                    os.link(kept, os.path.join(partial, name))   # verified before, never changed
                else:
                    store.download(name, os.path.join(partial, name), size)
                    fresh.append(name)
            with open(os.path.join(partial, "CURRENT"), "w", encoding="utf-8") as f:
                f.write(manifest + "\n")
                f.flush()
                os.fsync(f.fileno())
            fsync_directory(partial)
            try:
                with Index(partial) as index:   # opening checks the manifest, headers, deletion files
                    index.verify([n for n in fresh if n.endswith(".hidx")])
            except (CorruptIndexError, NotAnIndexError) as error:
                raise CorruptIndexError(f"{store.url} ({manifest}) failed verification, nothing of it was used: "
                                        f"{error}") from None
            os.rename(partial, os.path.join(entry, manifest))
            fsync_directory(entry)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise

    def _evict(self, keep: str, incoming: int) -> None:
        """Removes the least recently used prefixes, not ``keep`` and not in use, until the
        cache has room for ``incoming`` more bytes."""
        if self.max_bytes is None:
            return
        entries = []
        total = 0
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            if os.path.isdir(path):
                size = _tree_bytes(path)
                total += size
                if path != keep:
                    entries.append((os.stat(path).st_mtime, path, size))
        for _, path, size in sorted(entries):
            if total + incoming <= self.max_bytes:
                return
            with self._locked(path, blocking=False) as mine:
                if not mine or any(n.startswith("writer-") for n in os.listdir(path)):
                    continue   # being fetched, or a writer's copy lives there
                shutil.rmtree(path, ignore_errors=True)
                total -= size
        if total + incoming > self.max_bytes:
            raise StorageError(f"{self.directory}: the cache holds {total} bytes in use; {incoming} more would pass "
                               f"max_bytes {self.max_bytes}")


class Follower:
    """An index kept at its location's newest generation, for a long-lived reader (a
    search replica): :meth:`refresh` moves to a newer committed generation when there is
    one and returns the index to search. On a filesystem that costs one ``stat`` of
    ``CURRENT`` per call, so a reader always sees every commit before it. On an object store
    it reads ``CURRENT`` (one GET) at most every ``refresh_s`` seconds, or at once when the
    caller knows of a newer manifest (``at_least``, from a writer's acknowledgement)."""

    def __init__(self, where: Location, cache: Optional[IndexCache] = None, refresh_s: float = 1.0) -> None:
        self.where = where
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        if isinstance(where, ObjectStore):
            self.cache = cache or IndexCache()
            self.index = self.cache.open(where)
        else:
            self.index = Index(where.local_path())
        self.seen = self._version()
        self.checked = time.monotonic()

    @property
    def manifest(self) -> str:
        """The manifest name of the generation open now."""
        return self.seen if isinstance(self.seen, str) else f"MANIFEST-{int(self.index.info['generation']):06d}"

    def _version(self) -> Any:
        if isinstance(self.where, ObjectStore):
            return os.path.basename(self.index.path)   # a cached copy's folder is its manifest's name
        st = os.stat(os.path.join(self.where.local_path(), "CURRENT"))
        return st.st_ino, st.st_mtime_ns

    def refresh(self, at_least: Optional[str] = None) -> Index:
        """The index at the newest generation this follower knows of (see the class)."""
        with self._lock:
            if isinstance(self.where, ObjectStore):
                behind = at_least is not None and (generation_of(at_least) or 0) > (generation_of(self.seen) or 0)
                if not behind and time.monotonic() - self.checked < self.refresh_s:
                    return self.index
                self.checked = time.monotonic()
                if read_current(self.where) == self.seen:
                    return self.index
                newer = self.cache.open(self.where)
            else:
                if self._version() == self.seen:
                    return self.index
                newer = self.index.reopen()
            old, self.index = self.index, newer
            self.seen = self._version()
        old.close()   # (waits for searches still running on it)
        return self.index

    def close(self) -> None:
        self.index.close()


def _tree_bytes(path: str) -> int:
    seen, total = set(), 0
    for folder, _, files in os.walk(path):
        for name in files:
            st = os.stat(os.path.join(folder, name))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_size
    return total


def _locked_by_writer(copy: str) -> bool:
    """Whether a live writer holds the copy's ``LOCK`` (the library's writer ``flock``s it)."""
    path = os.path.join(copy, "LOCK")
    if not os.path.exists(path):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


__all__ = ["LocalFolder", "ObjectStore", "Location", "location", "publish", "IndexCache", "Follower", "read_current",
           "generation_of", "MAX_CURRENT_BYTES", "MAX_INDEX_FILES"]
