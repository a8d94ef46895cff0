"""File plumbing of an index folder: durable writes, checksums, memory-mapped arrays, string tables.

What the files mean lives in ``index.segment`` and ``index.manifest``; this module only knows
how to write a file so that it survives a crash (write, flush, fsync, then rename where a name
is reused) and how to read it back without copying (``numpy`` memory maps and ``StringTable``).
Every file is written once and never changed, so the checksum taken when it is written stays
valid for its whole life.

    >>> write_strings(Path("ids.strs"), ["a#0", "a#1"])
    >>> StringTable(Path("ids.strs"))[1]
    'a#1'
    >>> file_record(Path("ids.strs")).bytes
    46
"""

from __future__ import annotations

import hashlib
import mmap
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SentenceSpan = tuple[int, int]  # one sentence of a document: [start, end) in its text

_STRS_MAGIC = b"ASKSTRS1"
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class FileRecord:
    """What a file must be: its size and the sha256 of its bytes."""

    bytes: int
    sha256: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            digest.update(block)  # hashlib releases the GIL on large blocks
    return digest.hexdigest()


def file_record(path: Path) -> FileRecord:
    return FileRecord(path.stat().st_size, sha256_file(path))


def file_problem(path: Path, record: FileRecord, hash_it: bool = True) -> str | None:
    """Why ``path`` is not the file ``record`` describes (missing, wrong size, other bytes), or None."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return f"{path.parent.name}/{path.name} is missing"
    if size != record.bytes:
        return f"{path.parent.name}/{path.name} has {size} bytes, {record.bytes} were written"
    if hash_it and sha256_file(path) != record.sha256:
        return f"{path.parent.name}/{path.name} does not match its checksum"
    return None


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk (a folder: so that renames in it survive a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_all(paths: Iterable[Path]) -> None:
    """Flush several files to disk at once: fsyncs issued together share the file system's journal
    commits (ext4 here: 15 files in about 0.07 s, against 0.18 s one after another)."""
    from concurrent.futures import ThreadPoolExecutor

    paths = list(paths)
    if paths:
        with ThreadPoolExecutor(max_workers=min(32, len(paths))) as pool:
            list(pool.map(fsync_path, paths))  # list(): re-raises the first OSError


def write_file(path: Path, data: bytes, sync: bool = True) -> None:
    """Create ``path`` with ``data``; flushed to disk before returning unless ``sync`` is False
    (then the caller flushes it, e.g. with ``fsync_all``, before anything may name it)."""
    with open(path, "xb") as f:
        f.write(data)
        if sync:
            f.flush()
            os.fsync(f.fileno())


def replace_file(path: Path, data: bytes, flush_first: Iterable[Path] = ()) -> None:
    """Replace ``path`` atomically: readers see the old bytes or the new ones, never a mix.

    ``flush_first``: files and folders written unflushed that the new bytes refer to (a commit's
    new segment). They are flushed in one round with the new bytes and ``path``'s folder, all
    before the rename, so once the new name can survive a crash everything it names already has.
    Then the folder is flushed once more, for the rename itself: two rounds of waiting for the
    disk per commit, whatever it wrote (each round costs about one journal commit on ext4).
    """
    tmp = path.with_name(f".tmp-{path.name}-{uuid.uuid4().hex[:8]}")
    flush_first = list(flush_first)
    try:
        write_file(tmp, data, sync=False)
        fsync_all([*flush_first, tmp, *([path.parent] if flush_first else [])])
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


def save_array(path: Path, array: np.ndarray, sync: bool = True) -> None:
    """A ``.npy`` file; flushed to disk unless ``sync`` is False (as ``write_file``)."""
    with open(path, "xb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        if sync:
            f.flush()
            os.fsync(f.fileno())


def load_array(path: Path) -> np.ndarray:
    """A ``.npy`` file, memory-mapped (so opening a large index reads nothing yet)."""
    return np.load(path, mmap_mode="r", allow_pickle=False)


def write_strings(path: Path, strings: Iterable[str], sync: bool = True) -> None:
    """A string table: magic, count, ``count + 1`` byte offsets (little-endian uint64), UTF-8 bytes."""
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype="<u8")
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    header = _STRS_MAGIC + np.uint64(len(encoded)).astype("<u8").tobytes()
    write_file(path, header + offsets.tobytes() + b"".join(encoded), sync)


class StringTable:
    """Read-only, memory-mapped list of strings written by ``write_strings``: O(1) open and lookup."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if self._map[:8] != _STRS_MAGIC or len(self._map) < 24:
            raise ValueError(f"{path.name} is not a string table")
        count = int(np.frombuffer(self._map, dtype="<u8", count=1, offset=8)[0])
        self._base = 16 + 8 * (count + 1)
        if self._base > len(self._map):
            raise ValueError(f"{path.name} is truncated")
        self._offsets = np.frombuffer(self._map, dtype="<u8", count=count + 1, offset=16)
        if int(self._offsets[-1]) != len(self._map) - self._base:
            raise ValueError(f"{path.name} is truncated")

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> str:
        if not 0 <= i < len(self):
            raise IndexError(i)
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        return self._map[self._base + start : self._base + end].decode("utf-8")

    def __iter__(self):
        return (self[i] for i in range(len(self)))
