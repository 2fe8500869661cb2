"""Delimited text files as labs write them: detection, one-pass parsing, exact error locations.

:func:`sniff` reads only the first 64 KiB of a file to find

- the encoding (UTF-8, with or without the byte-order mark Excel writes),
- an instrument header block (e.g. a Keithley 2400-series export: ``"key","value"`` lines
  before the table), kept as metadata,
- the header line (the last non-data line before the first data line) and where data start,
- the delimiter: tab, semicolon, comma or runs of whitespace (the first that splits the
  sample into a consistent number of fields, in that order).

:func:`read_table` then parses the whole file in one pass with pandas' C parser into
numeric columns (memory a small multiple of the parsed arrays). When the parser rejects
the file, :func:`locate_problem` streams through it once more (constant memory) to report
the exact physical line (blank lines counted), the column and at most 120 characters of
the offending text.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SNIFF_BYTES = 64 * 1024
EXCERPT = 120
# the line breaks of Python's file iteration and of the C parser (not str.splitlines' \v, \f, \x1c...)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
DELIMITERS = ("\t", ";", ",")  # tried in this order; None means runs of whitespace
# what the parser raises on a malformed file (ParserWarning is raised as an error by read_table)
PARSE_ERRORS = (ValueError, UnicodeDecodeError, OverflowError, Warning)


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """``repr`` of ``text`` cut to at most ``limit`` characters."""
    r = repr(text)
    return r if len(r) <= limit else r[: limit - 4] + "...'"


def as_path(path) -> Path:
    """A Path from str, PathLike or bytes (file names need not be UTF-8)."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"expected a file path, got {type(path).__name__}")
    return Path(path)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _data_like(cells: Sequence[str]) -> bool:
    """More than half of the non-empty cells are numbers (a long-CSV row holds a trace label)."""
    nonempty = [c.strip() for c in cells if c.strip()]
    return bool(nonempty) and 2 * sum(_is_number(c) for c in nonempty) > len(nonempty)


def split_line(line: str, delimiter: str | None) -> list[str]:
    """Fields of one line; ``None`` splits on whitespace and glues ``[unit]`` tokens to their name."""
    if delimiter is not None:
        if '"' not in line:
            return line.split(delimiter)
        return next(csv.reader([line], delimiter=delimiter), [])
    tokens = line.split()
    out: list[str] = []
    for t in tokens:
        if out and t.startswith("[") and not out[-1].endswith("]"):
            out[-1] = f"{out[-1]} {t}"
        else:
            out.append(t)
    return out


def detect_delimiter(lines: Sequence[str]) -> str | None:
    """The delimiter that splits ``lines`` into a consistent number (>1) of fields."""
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        return ","
    for delim in DELIMITERS:
        counts = [len(split_line(ln, delim)) for ln in lines]
        mode = max(set(counts), key=counts.count)
        if mode > 1 and counts.count(mode) * 2 > len(counts):
            return delim
    # no delimiter splits most lines alike (a header and a bad row, say): the header decides
    best = max(DELIMITERS, key=lambda d: len(split_line(lines[0], d)))
    if len(split_line(lines[0], best)) > 1:
        return best
    counts = [len(split_line(ln, None)) for ln in lines]
    if max(counts) > 1:
        return None
    return ","


@dataclass
class Layout:
    """What :func:`sniff` found in the head of a file (line numbers are 1-based, physical)."""

    path: Path
    delimiter: str | None
    header: list[str] | None  # the column names, or None when the file starts with data
    header_line: int | None
    data_line: int | None  # first data line, None when the head holds no data
    metadata: dict[str, str] = field(default_factory=dict)  # instrument header block
    bom: bool = False

    @property
    def skip(self) -> int:
        """Physical lines before the first data line (for the parser)."""
        return (self.data_line or 1) - 1

    def metadata_json(self) -> str:
        return json.dumps(self.metadata, ensure_ascii=False)


def _decode_head(path: Path, where: str, error: type[Exception]) -> tuple[str, bool]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(SNIFF_BYTES)
    except FileNotFoundError:
        raise error(f"{where}: no such file") from None
    except IsADirectoryError:
        raise error(f"{where}: is a directory, not a file") from None
    except OSError as exc:
        raise error(f"{where}: cannot read ({exc.strerror or exc})") from None
    bom = raw.startswith(codecs.BOM_UTF8)
    if bom:
        raw = raw[len(codecs.BOM_UTF8):]
    if b"\x00" in raw:
        raise error(f"{where}: not a text file (NUL bytes)")
    text = raw.decode("utf-8", errors="strict") if len(raw) < SNIFF_BYTES else _decode_prefix(raw, where, error)
    return text, bom


def _decode_prefix(raw: bytes, where: str, error: type[Exception]) -> str:
    # the sample may end inside a multi-byte character: drop the incomplete tail line
    cut = raw.rfind(b"\n")
    try:
        return raw[: cut + 1 if cut >= 0 else len(raw)].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None


def sniff(path, error: type[Exception] = ValueError, delimiter: str | type[Ellipsis] | None = ...) -> Layout:
    """Find encoding, header block, header line, first data line and delimiter of ``path``.

    ``delimiter``: ``...`` (default) detects it; a string or ``None`` (whitespace) forces it.
    Raises ``error`` (e.g. MeasurementError) naming the file for unreadable or binary files.
    """
    path = as_path(path)
    where = str(path)
    try:
        text, bom = _decode_head(path, where, error)
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    # a header block (instrument export) precedes the table; the table starts at the first
    # data-like line and its header is the last non-blank, non-empty line before it
    # detect on the tail (the table): in a short export the header block may hold most of the lines
    tail = lines[-50:] if len(lines) > 60 else lines[len(lines) // 2:] if len(lines) > 20 else lines
    delim = detect_delimiter(tail) if delimiter is ... else delimiter
    rows = [split_line(ln, delim) if ln.strip() else [] for ln in lines]
    first_data = next((i for i, r in enumerate(rows) if _data_like(r)), None)
    header_idx = None
    if first_data is None:
        # no line looks numeric (e.g. one data row with a typo): the first line is the header
        nonblank = [i for i, r in enumerate(rows) if any(c.strip() for c in r)]
        header_idx = nonblank[0] if nonblank else None
        first_data = nonblank[1] if len(nonblank) > 1 else None
    else:
        for i in range(first_data - 1, -1, -1):
            if any(c.strip() for c in rows[i]):
                header_idx = i
                break
    metadata: dict[str, str] = {}
    if header_idx is not None:
        for r in rows[:header_idx]:
            cells = [c.strip() for c in r if c.strip()]
            if not cells:
                continue
            key = cells[0].lstrip(". ").strip()
            value = " ".join(cells[1:])
            k, n = key, 2
            while k in metadata:  # repeated keys (Range under Source and Measure settings)
                k, n = f"{key} ({n})", n + 1
            metadata[k] = value
        if delimiter is ... and header_idx > 0 and first_data is not None:
            # the block may be written with another delimiter; the table decides
            delim = detect_delimiter(lines[header_idx: first_data + 20])
            rows[header_idx] = split_line(lines[header_idx], delim)
    header = [c.strip() for c in rows[header_idx]] if header_idx is not None else None
    return Layout(path=path, delimiter=delim, header=header,
                  header_line=None if header_idx is None else header_idx + 1,
                  data_line=None if first_data is None else first_data + 1, metadata=metadata, bom=bom)


class _Progress(io.RawIOBase):
    """A binary file that reports bytes read (for progress bars on large files)."""

    def __init__(self, fh, callback: Callable[[int, int], None], total: int):
        self._fh, self._cb, self._total, self._done = fh, callback, total, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self._fh.readinto(b)
        self._done += n or 0
        self._cb(self._done, self._total)
        return n


def read_table(
    layout: Layout,
    names: Sequence[str],
    dtypes: dict[str, object],
    usecols: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
):
    """Parse the data lines of ``layout.path`` into a pandas DataFrame in one pass.

    ``names`` are the columns of each line (the header's length); ``dtypes`` maps the ones
    to keep to numpy dtypes (``"category"`` for labels). Raises whatever the parser raises
    (ValueError, pandas ParserError, UnicodeDecodeError); callers turn it into their own
    error with :func:`locate_problem`.
    """
    import warnings

    import pandas as pd

    sep = r"\s+" if layout.delimiter is None else layout.delimiter
    size = layout.path.stat().st_size
    with open(layout.path, "rb") as raw, warnings.catch_warnings():
        # a line with more fields than the header: pandas would warn and drop data
        warnings.simplefilter("error", pd.errors.ParserWarning)
        fh = io.BufferedReader(_Progress(raw, progress, size)) if progress else raw
        return pd.read_csv(
            fh, sep=sep, header=None, names=list(names), skiprows=layout.skip, usecols=usecols, index_col=False,
            dtype=dtypes, encoding="utf-8-sig", engine="c", skip_blank_lines=True, na_filter=True,
            keep_default_na=False, na_values=[""], quotechar='"', on_bad_lines="error",
        )


def iter_rows(layout: Layout, error: type[Exception], start_row: int = 0):
    """(physical line number, fields) for every non-blank data line from data row ``start_row`` on,
    streaming (rows before ``start_row`` are only counted, not split)."""
    where = str(layout.path)
    row = 0
    try:
        with open(layout.path, encoding="utf-8-sig", newline="") as fh:
            for lineno, line in enumerate(fh, start=1):
                if lineno <= layout.skip or not line.strip():
                    continue
                row += 1
                if row <= start_row:
                    continue
                yield lineno, split_line(line.rstrip("\r\n"), layout.delimiter)
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not a UTF-8 text file ({exc.reason})") from None


def line_of_row(layout: Layout, index: int, error: type[Exception]) -> tuple[int, list[str]]:
    """Physical line number and fields of the ``index``-th data row (0-based, blank lines skipped)."""
    for lineno, cells in iter_rows(layout, error, start_row=index):
        return lineno, cells
    raise error(f"{layout.path}: data row {index} not found")


def first_bad_chunk(layout: Layout, names: Sequence[str], dtypes: dict[str, object], chunk: int = 50_000) -> int:
    """The data row where the chunk the parser rejects starts (0 when every chunk parses).

    One more pass of the C parser in bounded memory, so that the slow line-by-line check of
    :func:`locate_problem` only covers one chunk of a large file."""
    import warnings

    import pandas as pd

    sep = r"\s+" if layout.delimiter is None else layout.delimiter
    done = 0
    try:
        with open(layout.path, "rb") as fh, warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            for part in pd.read_csv(
                fh, sep=sep, header=None, names=list(names), skiprows=layout.skip, index_col=False,
                dtype=dtypes, encoding="utf-8-sig", engine="c", skip_blank_lines=True, na_filter=True,
                keep_default_na=False, na_values=[""], quotechar='"', on_bad_lines="error", chunksize=chunk,
            ):
                done += len(part)
    except PARSE_ERRORS:
        return done
    return 0


def locate_problem(
    layout: Layout,
    error: type[Exception],
    check: Callable[[int, list[str]], str | None],
    start_row: int = 0,
) -> None:
    """Stream through the data lines (from data row ``start_row``); raise ``error`` at the first line
    ``check`` complains about. ``check(lineno, fields)`` returns a message (without file and line) or None.
    """
    ncol = len(layout.header) if layout.header else None
    for lineno, cells in iter_rows(layout, error, start_row):
        if ncol is not None and len(cells) > ncol:
            raise error(f"{layout.path}: line {lineno}: {len(cells)} fields, header has {ncol}")
        msg = check(lineno, cells)
        if msg:
            raise error(f"{layout.path}: line {lineno}{msg}")


_INTEGER = re.compile(r"[+-]?\d+")


def number_problem(cells: list[str], columns: dict[str, int], integer: Sequence[str] = ()) -> str | None:
    """The first cell of ``columns`` (name -> index) that is not a finite number, as ``", column ..."``."""
    for name, j in columns.items():
        cell = cells[j].strip() if j < len(cells) else ""
        if name in integer:
            if not _INTEGER.fullmatch(cell):
                return f", column {name!r}: expected an integer, got {excerpt(cell)}"
            continue
        try:
            value = float(cell)
        except ValueError:
            return f", column {name!r}: expected a number, got {excerpt(cell)}"
        if not math.isfinite(value):
            return f", column {name!r}: non-finite value {excerpt(cell)}"
    return None
