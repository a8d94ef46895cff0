"""The index problems a user can meet, each one sentence that says what to do.

    >>> raise IndexModelError(Path("idx"), "bundled:all-MiniLM-L6-v2", "my/model")
    Traceback (most recent call last):
    index.errors.IndexModelError: The index at idx was built with the embedding model bundled:all-MiniLM-L6-v2, not my/model: ...
"""

from __future__ import annotations

from pathlib import Path

REBUILD_HINT = "rebuild it with `python -m qa ingest --index {path} --rebuild PATH...`"


class StoreError(RuntimeError):
    """An index problem a user can meet; the message says what to do."""


class IndexMissingError(StoreError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"No index at {path}: run `python -m qa ingest --index {path} PATH...` to build one.")


class IndexDamagedError(StoreError):
    """A file is missing, truncated or altered (its checksum does not match), or files disagree."""

    def __init__(self, path: Path, reason: str) -> None:
        self.reason = reason
        super().__init__(f"The index at {path} is damaged ({reason}): {REBUILD_HINT.format(path=path)}.")


class IndexModelError(StoreError):
    """The index was built with another embedding model: its vectors cannot be compared with ours."""

    def __init__(self, path: Path, built_with: str, wanted: str) -> None:
        self.built_with, self.wanted = built_with, wanted
        super().__init__(
            f"The index at {path} was built with the embedding model {built_with}, not {wanted}: "
            f"open it with {built_with}, or {REBUILD_HINT.format(path=path)} to use {wanted}."
        )


class IndexFormatError(StoreError):
    """The index was written in a format this program cannot read: a newer one, or an older one it could not convert."""

    def __init__(self, path: Path, found: object, supported: int, reason: str = "") -> None:
        self.found = found
        hint = REBUILD_HINT.format(path=path)
        if isinstance(found, int) and found < supported:
            message = f"The index at {path} is in the older format {found} and could not be converted ({reason}): {hint}."
        else:
            message = (f"The index at {path} has format version {found!r}, this program reads version {supported}: "
                       f"update the program, or {hint}.")  # fmt: skip
        super().__init__(message)


class IndexBusyError(StoreError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"Another process is writing the index at {path}: try again when it has finished.")


class IndexWriteError(StoreError):
    def __init__(self, path: Path, exc: OSError) -> None:
        super().__init__(f"Cannot write the index at {path} ({exc.strerror or exc}): check the folder's permissions and free space.")


class DocumentNotFoundError(StoreError):
    def __init__(self, path: Path, doc_id: str) -> None:
        self.doc_id = doc_id
        super().__init__(
            f"There is no document '{doc_id}' in the index at {path}: nothing was changed; "
            f"`python -m qa documents --index {path}` lists the ids it holds."
        )
