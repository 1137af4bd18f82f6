"""Opening raw input files: plain, gzip, and members of zip archives.

Every reader goes through :class:`FileRef` so that a Moses side, a TMX file or
an XCES document can live on disk, gzipped, or inside an OPUS zip. Zip archives
are opened through :class:`SafeZip`, which refuses archives holding members with
absolute paths or ``..`` components (nothing is ever extracted to disk; such an
archive is not read at all).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Optional

from lmt.errors import DataError, MissingResourceError

# Large read buffers: a C-level BufferedReader over gzip/zip streams turns
# per-line iteration from Python calls into C calls (about 2x faster).
BUFFER = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
#: Longest line (bytes) a line reader holds; longer ones are skipped and counted.
DEFAULT_MAX_LINE_BYTES = 100_000
LINE_TOO_LONG = "read:line_too_long"
#: Yielded by :func:`capped_lines` in place of an over-long line.
TOO_LONG = b"\0<line too long>"
#: Zip members that are never corpora: macOS resource forks and folder metadata.
_ZIP_METADATA = re.compile(r"(^|/)(__MACOSX/|\._)")


def is_gzip_name(name: str) -> bool:
    """Whether a file name ends in ``.gz``."""
    return name.lower().endswith(".gz")


def is_zip_metadata(name: str) -> bool:
    """Whether a zip member is archive metadata (``__MACOSX/...``, ``._name``), never data."""
    return bool(_ZIP_METADATA.search(name.replace("\\", "/")))


def raw_capped_lines(stream: IO[bytes], max_bytes: int) -> Iterator[bytes]:
    """Lines read with ``readline(max_bytes + 1)`` (C-level iteration, no checks).

    A line of exactly ``max_bytes + 1`` bytes that does not end in a newline is
    over the cap: the caller passes it to :func:`skip_rest`. Hot loops use this
    instead of :func:`capped_lines` to save a Python call per line.
    """
    return iter(functools.partial(stream.readline, max_bytes + 1), b"")


def skip_rest(stream: IO[bytes], line: bytes, max_bytes: int) -> bool:
    """Whether ``line`` (from :func:`raw_capped_lines`) is over the cap; if so
    the rest of it is read and thrown away, 64 KiB at a time."""
    if len(line) <= max_bytes or line[-1] == 10:  # 10: b"\n"
        return False
    while line and line[-1] != 10:
        line = stream.readline(1 << 16)
    return True


def capped_lines(stream: IO[bytes], max_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of a binary stream, each read with a byte cap.

    A line longer than ``max_bytes`` (without its newline) is consumed in 64 KiB
    pieces that are thrown away, and :data:`TOO_LONG` is yielded in its place,
    so memory stays flat even on a 300 MB line without a newline.
    """
    for line in raw_capped_lines(stream, max_bytes):
        yield TOO_LONG if skip_rest(stream, line, max_bytes) else line


def unsafe_member(name: str) -> bool:
    """Whether a zip member name is absolute or climbs out with ``..``."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return True
    return any(part == ".." for part in re.split(r"[/\\]", name))


class SafeZip:
    """A zip archive whose member names were all checked before any is read.

    Raises:
        DataError: naming the archive and the first unsafe member, or when the
            file is not a zip archive.
    """

    def __init__(self, path: "str | Path") -> None:
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise MissingResourceError(f"{self.path}: zip archive does not exist") from None
        except zipfile.BadZipFile as err:
            raise DataError(f"{self.path}: not a valid zip archive ({err})") from None
        for info in self._zip.infolist():
            if unsafe_member(info.filename):
                self._zip.close()
                raise DataError(
                    f"{self.path}: unsafe member path {info.filename!r} (absolute or containing '..'); "
                    "refusing to read this archive"
                )
        # Metadata members (__MACOSX/, ._*) are not listed: they are never corpora.
        self.names = [i.filename for i in self._zip.infolist() if not i.is_dir() and not is_zip_metadata(i.filename)]
        self.name_set = frozenset(self.names)

    def open(self, member: str) -> IO[bytes]:
        """A buffered binary stream of one member (decompressed when it ends in .gz)."""
        try:
            raw = self._zip.open(member)
        except KeyError:
            raise DataError(f"{self.path}: no member {member!r} in the archive") from None
        stream: IO[bytes] = io.BufferedReader(raw, BUFFER)  # type: ignore[arg-type]
        if is_gzip_name(member):
            stream = io.BufferedReader(gzip.GzipFile(fileobj=stream), BUFFER)  # type: ignore[arg-type]
        return stream

    def close(self) -> None:
        """Close the archive."""
        self._zip.close()


@functools.lru_cache(maxsize=8)
def _cached_zip(path: str, mtime_ns: int, pid: int) -> SafeZip:
    # Archives are opened once per process, not once per document. The pid is
    # part of the key: a forked worker must not share the parent's file offset.
    return SafeZip(path)


def open_zip(path: "str | Path") -> SafeZip:
    """A (cached) :class:`SafeZip` for ``path``."""
    p = Path(path)
    try:
        mtime = p.stat().st_mtime_ns
    except FileNotFoundError:
        raise MissingResourceError(f"{p}: zip archive does not exist") from None
    return _cached_zip(str(p), mtime, os.getpid())


@contextlib.contextmanager
def decode_errors(what: str) -> Iterator[None]:
    """Turn decompression/IO failures while reading ``what`` into :class:`DataError`.

    A truncated ``.gz``, a ``.gz`` that is not gzip, or a corrupt zip member
    otherwise surface as bare ``OSError``/``EOFError``/``zlib.error``.
    """
    try:
        yield
    except (MissingResourceError, DataError):
        raise
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as err:
        raise DataError(f"{what}: cannot read ({type(err).__name__}: {err}); is the file truncated or corrupt?") from None


@dataclass(frozen=True)
class FileRef:
    """A readable file: ``path`` on disk, or ``member`` of the zip at ``path``."""

    path: str
    member: Optional[str] = None

    @property
    def display(self) -> str:
        """Name used in errors and in record provenance (``archive.zip/member``)."""
        return f"{self.path}/{self.member}" if self.member else self.path

    @property
    def short(self) -> str:
        """Base name used in record provenance (keeps records small)."""
        base = Path(self.path).name
        return f"{base}/{self.member}" if self.member else base

    @property
    def name(self) -> str:
        """File name without folders (of the member for zip members)."""
        return Path(self.member).name if self.member else Path(self.path).name

    def open(self) -> IO[bytes]:
        """Open as a buffered binary stream, transparently gunzipping ``.gz``.

        Raises:
            MissingResourceError: the file does not exist.
        """
        if self.member is not None:
            return open_zip(self.path).open(self.member)
        p = Path(self.path)
        if not p.is_file():
            raise MissingResourceError(f"{p}: file does not exist")
        if is_gzip_name(p.name):
            return io.BufferedReader(gzip.open(p, "rb"), BUFFER)  # type: ignore[arg-type]
        return open(p, "rb", buffering=BUFFER)
