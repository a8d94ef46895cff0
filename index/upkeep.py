"""Keeping an index folder tidy and sound: what to merge, what to delete, what to check.

Pure decisions and file-system chores the store runs under its write lock: ``merge_plan``
picks segments to compact, ``collect_garbage`` removes what crashes and earlier commits left,
``segment_problems`` cross-checks a segment's files against each other.

    >>> merge_plan(manifest.segments, IndexSettings(max_segments=4))
    [1, 3]
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import numpy as np

from index.errors import IndexDamagedError, StoreError
from index.manifest import MANIFEST, SegmentEntry, read_manifest
from index.segment import Segment
from index.settings import IndexSettings

LEGACY_FILES = ("documents.jsonl", "chunks.jsonl", "vectors.faiss")  # format 1, removed once converted


def merge_plan(entries: tuple[SegmentEntry, ...], settings: IndexSettings) -> list[int]:
    """Segments to merge into one after a commit: those whose deleted share passed
    ``compact_dead_fraction``, plus the smallest ones while there are more than ``max_segments``
    (down to half that, so merges stay rare and each document is rewritten a few times at most)."""
    limit = settings.compact_dead_fraction
    group = [i for i, e in enumerate(entries) if e.chunks and e.deleted_chunks / e.chunks > limit]
    if len(entries) > settings.max_segments:
        rest = sorted((i for i in range(len(entries)) if i not in group), key=lambda i: (entries[i].live_chunks, i))
        while rest and len(entries) - len(group) + 1 > settings.max_segments // 2:
            group.append(rest.pop(0))
    return sorted(group) if len(group) > 1 or any(entries[i].deleted_documents for i in group) else []


def replace_group(view, group: list[int], merged: tuple[SegmentEntry, Segment] | None):
    """The view's entries, segments and deletion lists with ``group`` replaced by ``merged``, which
    takes the place of the group's first segment (so documents keep their order)."""
    new: tuple[list, list, list] = ([], [], [])
    for i, old in enumerate(zip(view.manifest.segments, view.segments, view.deleted)):
        if i == group[0] and merged is not None:
            old = (*merged, np.zeros(0, dtype=np.int64))
        elif i in group:
            continue
        for into, part in zip(new, old):
            into.append(part)
    return new


def collect_garbage(path: Path) -> None:
    """Remove what crashes and earlier commits left: temporary files, segments and deletion lists
    the committed manifest does not name (unless a reader holds them), format-1 files and folders."""
    try:
        committed = {e.name: e for e in read_manifest(path).segments}
    except StoreError:  # nothing committed in this format yet: only temporary files are surely garbage
        committed = None
    for item in path.iterdir():
        name = item.name
        if name.startswith(".tmp-"):
            _remove(item)
        elif committed is None:
            continue
        elif name.startswith("seg-") and item.is_dir() and name not in committed:
            _remove_unlocked(item)
        elif name in LEGACY_FILES:
            item.unlink(missing_ok=True)
        elif name in committed:
            for f in item.glob("deleted-*.npy"):
                if f.name != committed[name].deleted:
                    f.unlink(missing_ok=True)
    for old in [*path.parent.glob(f".{path.name}.tmp-*"), *path.parent.glob(f".{path.name}.old-*")]:
        _remove(old)  # format 1 swapped whole folders beside the index


def segment_problems(seg: Segment) -> list[str]:
    """What is inconsistent inside a segment whose files passed their checksums (none: [])."""
    try:
        table, texts, ids = seg.chunk_table, seg.doc_texts, seg.chunk_ids
        if len(table) and (np.any(np.diff(table[:, 0]) < 0) or table[:, 0].max() >= seg.documents):
            return [f"{seg.entry.name}: chunks do not follow their documents"]
        lengths = np.array([len(texts[i]) for i in range(seg.documents)], dtype=np.int64)
        starts, ends = table[:, 1], table[:, 2]
        if len(table) and np.any((starts < 0) | (starts > ends) | (ends > lengths[table[:, 0]])):
            return [f"{seg.entry.name}: a chunk lies outside its document"]
        if len(ids) != len(table) or len(seg.dense) != len(table) or int(seg.postings.lengths.sum()) != seg.entry.tokens:
            return [f"{seg.entry.name}: chunks, vectors and postings disagree"]
        seg.sentences  # noqa: B018 - loads and shape-checks the sentence spans
    except IndexDamagedError as exc:
        return [exc.reason]
    return []


def looks_like_index(path: Path) -> bool:
    return (path / MANIFEST).exists() or any(path.glob("seg-*")) or any((path / n).exists() for n in LEGACY_FILES)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _remove_unlocked(folder: Path) -> None:
    """Delete a dead segment unless a reader holds its lock (then a later write deletes it)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        shutil.rmtree(folder, ignore_errors=True)
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
