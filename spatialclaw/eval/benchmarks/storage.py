"""Reading a benchmark's released files: parquet (with images embedded as bytes), JSON / JSONL /
CSV tables, and media files beside them or inside the zip archives the dataset ships.

`DataRoot` is one benchmark's ``--data-root``: the dataset repository's files as released, its
archives either as shipped or unpacked. Embedded images are written once into the cache
(``<cache>/media/<sha256>.<ext>``, keyed by content); archive members are extracted once into
``<cache>/media/zip/<archive key>/<member>``.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from functools import partial
from pathlib import Path
from typing import Any

from spatialclaw.errors import DOWNLOAD_AGAIN_FIX, InputError
from spatialclaw.eval.table_files import RowFiles

_IMAGE_MAGIC = ((b"\x89PNG", ".png"), (b"\xff\xd8", ".jpg"), (b"GIF8", ".gif"), (b"BM", ".bmp"), (b"RIFF", ".webp"))


class DataRoot:
    """A benchmark's data folder, with an on-disk cache for media it has to materialise.

    Args:
        root: the ``--data-root`` folder.
        cache_dir: root of SpatialClaw's caches (default ``spatialclaw.config.cache_dir()``).
        expected: the released files, in words, for error messages.
    """

    def __init__(self, root: Path, cache_dir: Path | None = None, expected: str = "") -> None:
        if not root.is_dir():
            raise InputError.no_data_root(root, released=True)
        self.root = root
        self.expected = expected
        self._tables = RowFiles(
            suffixes=(".parquet", ".json", ".jsonl", ".csv"),
            wrappers=("data", "questions"),
            object_values=True,
            parquet_fix=DOWNLOAD_AGAIN_FIX,
            json_fix=DOWNLOAD_AGAIN_FIX,
            line_fix=DOWNLOAD_AGAIN_FIX,
            not_rows=partial(InputError.no_question_list, expected=expected),
        )
        self._cache_dir = cache_dir
        self._archives: list[Path] | None = None
        self._members: dict[Path, dict[str, list[str]]] = {}
        self.defer = False
        """Whether `find` leaves archive members unextracted by default (see `extract_pending`)."""
        self.pending: dict[Path, tuple[Path, str]] = {}
        """Cache paths `find` returned whose archive member is not extracted yet: ``{path: (archive, member)}``."""

    @property
    def media_dir(self) -> Path:
        """Where materialised media go."""
        from spatialclaw.config import cache_dir

        folder = cache_dir(self._cache_dir) / "media"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # ------------------------------------------------------------------ tables

    def glob(self, pattern: str) -> list[Path]:
        """Files under the root matching ``pattern`` (``**`` recursive), sorted by path."""
        return sorted(p for p in self.root.glob(pattern) if p.is_file())

    def first(self, *patterns: str) -> Path:
        """The first file matching any of ``patterns`` (in order), also looking inside archives.

        Raises:
            InputError: none matches.
        """
        for pattern in patterns:
            found = self.glob(pattern)
            if found:
                return found[0]
        for pattern in patterns:
            if "*" not in pattern:
                found_member = self.find(pattern, required=False, lazy=False)
                if found_member is not None:
                    return found_member
        raise InputError.none_of(self.root, patterns, self.expected)

    def parquet_rows(self, *patterns: str) -> list[dict[str, Any]]:
        """Rows of every parquet file matching the first pattern that matches anything."""
        files: list[Path] = []
        for pattern in patterns:
            files = self.glob(pattern)
            if files:
                break
        if not files:
            raise InputError.no_parquet(patterns, self.root, self.expected)
        rows: list[dict[str, Any]] = []
        for path in files:
            rows.extend(self.table_rows(path))
        return rows

    def table_rows(self, path: Path) -> list[dict[str, Any]]:
        """Rows of one table file, by its suffix: .parquet, .json (a list of rows, or
        ``{"data": [...]}``, ``{"questions": [...]}``, or rows keyed by id), .jsonl or .csv (header line first).

        Raises:
            InputError: another suffix, or the file does not parse or holds no list of rows.
        """
        return self._tables.read(path)

    # ------------------------------------------------------------------ media

    def image(self, cell: Any, what: str) -> Path:
        """A file for an image cell: ``{"bytes": ..., "path": ...}`` (a Hugging Face Image),
        raw bytes, or a path relative to the root (or inside an archive).

        Raises:
            InputError: the cell holds no image.
        """
        if isinstance(cell, dict):
            if cell.get("bytes"):
                return self.store_bytes(cell["bytes"])
            if cell.get("path"):
                return self.find(str(cell["path"]))
        if isinstance(cell, (bytes, bytearray, memoryview)):
            return self.store_bytes(bytes(cell))
        if isinstance(cell, str) and cell:
            return self.find(cell)
        raise InputError.no_image(what, cell)

    def store_bytes(self, data: bytes) -> Path:
        """Write image bytes into the cache once, named by their SHA-256."""
        suffix = next((ext for magic, ext in _IMAGE_MAGIC if data.startswith(magic)), ".img")
        path = self.media_dir / f"{hashlib.sha256(data).hexdigest()[:40]}{suffix}"
        if not path.is_file():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return path

    def find(self, relative: str, required: bool = True, lazy: bool | None = None) -> Path:
        """A file by its released relative path: beside the tables, or inside a shipped archive
        (members match the path itself or end with it), extracted into the cache.

        Args:
            relative: the path as the benchmark's files write it.
            required: raise when it is nowhere (else return None).
            lazy: leave an archive member unextracted for now (its cache path is returned and
                `extract_pending` extracts it); default: the root's ``defer`` setting.

        Raises:
            InputError: neither (when ``required``).
        """
        rel = relative.replace("\\", "/")
        while rel.startswith("./"):
            rel = rel[2:]
        rel = rel.lstrip("/")
        direct = self.root / rel
        if direct.is_file():
            return direct
        for archive in self.archives():
            member = self._member(archive, rel)
            if member is not None:
                target = self._target(archive, member)
                if target.is_file():
                    return target
                if self.defer if lazy is None else lazy:
                    self.pending[target] = (archive, member)
                    return target
                return self._extract(archive, member, target)
        if required:
            raise InputError.not_under_root(rel, self.root, self.expected)
        return None  # type: ignore[return-value]

    def extract_pending(self) -> None:
        """Extract the archive members `find` left for later."""
        for target, (archive, member) in list(self.pending.items()):
            if not target.is_file():
                self._extract(archive, member, target)
            del self.pending[target]

    def archives(self) -> list[Path]:
        """The zip archives under the root (two levels deep), sorted."""
        if self._archives is None:
            found = [*self.root.glob("*.zip"), *self.root.glob("*/*.zip")]
            self._archives = sorted(p for p in found if p.is_file())
        return self._archives

    def _member(self, archive: Path, rel: str) -> str | None:
        """The member of ``archive`` that is ``rel``, or ends with ``/rel`` (the first in name order)."""
        by_name = self._members.get(archive)
        if by_name is None:
            try:
                with zipfile.ZipFile(archive) as z:
                    names = sorted(n for n in z.namelist() if not n.endswith("/"))
            except (zipfile.BadZipFile, OSError):
                raise InputError.bad_zip(archive) from None
            by_name = {}
            for name in names:
                by_name.setdefault(name.rsplit("/", 1)[-1], []).append(name)
            self._members[archive] = by_name
        candidates = by_name.get(rel.rsplit("/", 1)[-1], [])
        if rel in candidates:
            return rel
        return next((n for n in candidates if n.endswith("/" + rel)), None)

    def _target(self, archive: Path, member: str) -> Path:
        if Path(member).is_absolute() or ".." in Path(member).parts:
            raise InputError.unsafe_member(archive, member)
        st = archive.stat()
        key = hashlib.sha256(f"{archive.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:24]
        return self.media_dir / "zip" / key / member

    def _extract(self, archive: Path, member: str, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with zipfile.ZipFile(archive) as z, z.open(member) as src, open(tmp, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        tmp.replace(target)
        return target
