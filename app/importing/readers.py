"""Read JSONL, CSV and XLSX files into raw records with their line numbers; no database here.

A bad line or row becomes a RawRecord with an error and reading goes on, so one bad row never
hides the good ones. Only problems with the file as a whole (unknown format, undecodable text,
a JSON array instead of JSON Lines, a duplicated column name) raise ReaderError.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import logging
import math
import os
import re
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, Final, NamedTuple, Protocol

__all__ = [
    "LIST_FIELDS",
    "SUPPORTED_SUFFIXES",
    "RawRecord",
    "ReaderError",
    "count_lines",
    "detect_format",
    "iter_raw_records",
    "split_list",
]

logger = logging.getLogger(__name__)

StrPath = str | os.PathLike[str]

LIST_FIELDS: Final = frozenset({"skills", "majors", "desired_cities", "desired_roles"})
"""Fields holding lists: CSV and XLSX cells are split into items (a JSON array also works)."""

SUPPORTED_SUFFIXES: Final = (
    ".jsonl",
    ".ndjson",
    ".json",
    ".csv",
    ".xlsx",
    ".xlsm",
    ".jsonl.gz",
    ".ndjson.gz",
    ".json.gz",
    ".csv.gz",
)

# Separators people type between list items in a spreadsheet cell, full- and half-width.
_LIST_SEPARATORS = re.compile(r"[；;、,，|｜\r\n]+")
_CHUNK_BYTES = 1 << 20
_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
_JSON_TYPE_NAMES = {list: "an array", str: "a string", int: "a number", float: "a number"}


class RawRecord(NamedTuple):
    """One record as read: its 1-based line (or row) number, the data, or why it is unreadable."""

    line: int
    data: dict[str, Any] | None
    error: str | None


class ReaderError(ValueError):
    """The file as a whole cannot be read: unknown format, encoding, or header."""


def detect_format(path: StrPath) -> tuple[str, bool]:
    """Return the format ("jsonl", "csv" or "xlsx") and whether the file is gzip-compressed."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes.pop()
    fmt = _FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None or (compressed and fmt == "xlsx"):
        hint = " (save old .xls workbooks as .xlsx or CSV)" if suffixes[-1:] == [".xls"] else ""
        raise ReaderError(
            f"{path}: unsupported file type{hint}; use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return fmt, compressed


def iter_raw_records(path: StrPath) -> Iterator[RawRecord]:
    """Yield every record of a JSONL, CSV or XLSX file (optionally .gz) with its line number."""
    fmt, compressed = detect_format(path)
    if fmt == "jsonl":
        return _iter_jsonl(Path(path), compressed)
    if fmt == "csv":
        return _iter_csv(Path(path), compressed)
    return _iter_xlsx(Path(path))


def count_lines(path: StrPath) -> int | None:
    """Data lines (or rows) after any header, as a progress-bar total; None when too costly."""
    fmt, compressed = detect_format(path)
    if compressed:
        return None
    if fmt == "xlsx":
        return _count_xlsx_rows(Path(path))
    lines = 0
    last = b"\n"
    with Path(path).open("rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1  # a last line without a newline
    return max(lines - 1, 0) if fmt == "csv" else lines


def split_list(value: str) -> list[str]:
    """Split a cell into items: a JSON array, or text separated by any of ；;、,，| or newlines."""
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            # Not JSON (e.g. a Python-style ['PLC', 'CAD']): split what is inside the brackets.
            text = text.strip("[]")
        else:
            if isinstance(parsed, list):
                return [
                    item.strip() if isinstance(item, str) else item
                    for item in parsed
                    if item is not None and not (isinstance(item, str) and not item.strip())
                ]
    items = (item.strip().strip("'\"").strip() for item in _LIST_SEPARATORS.split(text))
    return [item for item in items if item]


class _ByteStream(Protocol):
    """What the readers need of a plain or gzip binary file."""

    def read(self, size: int = -1, /) -> bytes: ...

    def __iter__(self) -> Iterator[bytes]: ...


@contextmanager
def _damaged_gzip_as_reader_error(path: Path) -> Iterator[None]:
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ReaderError(f"{path}: damaged gzip data: {exc}") from exc


@contextmanager
def _open_binary(path: Path, compressed: bool) -> Iterator[_ByteStream]:
    with _damaged_gzip_as_reader_error(path):
        with gzip.open(path, "rb") if compressed else path.open("rb") as stream:
            yield stream


@contextmanager
def _open_text(path: Path, compressed: bool, encoding: str) -> Iterator[IO[str]]:
    # newline="" hands line endings to the csv module, which must see \r\n inside quotes.
    with _damaged_gzip_as_reader_error(path):
        if compressed:
            with gzip.open(path, "rt", encoding=encoding, newline="") as text:
                yield text
        else:
            with path.open(encoding=encoding, newline="") as text:
                yield text


# ---------------------------------------------------------------- JSON Lines


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _check_not_whole_document(path: Path, line: int, text: bytes) -> None:
    """Refuse a JSON array or a pretty-printed object, which would fail on every line."""
    if text in (b"[", b"{"):
        kind = "an array" if text == b"[" else "a pretty-printed object"
    elif text.startswith(b"["):
        try:
            is_array = isinstance(json.loads(text), list)
        except (json.JSONDecodeError, UnicodeDecodeError):
            is_array = True  # an array spread over several lines
        if not is_array:
            return
        kind = "an array"
    else:
        return
    raise ReaderError(
        f"{path}: line {line} starts {kind}, not JSON Lines; write one JSON object per line "
        "(for an array: jq -c '.[]' in.json > out.jsonl)"
    )


def _iter_jsonl(path: Path, compressed: bool) -> Iterator[RawRecord]:
    first = True
    with _open_binary(path, compressed) as stream:
        # Binary lines split on b"\n" only: U+2028 or a lone \r inside a JSON string stays put.
        for line, raw in enumerate(stream, 1):
            if line == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            text = raw.strip()
            if not text:
                continue
            if first:
                _check_not_whole_document(path, line, text)
                first = False
            # The unstripped line, so columns in messages count from the line's real start.
            yield _parse_json_line(line, raw.rstrip(b"\r\n"))


def _parse_json_line(line: int, text: bytes) -> RawRecord:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RawRecord(line, None, f"not valid UTF-8 (byte {exc.start + 1} of the line)")
    try:
        value = json.loads(decoded)
    except json.JSONDecodeError as exc:
        return RawRecord(line, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(value, dict):
        return RawRecord(line, None, f"expected a JSON object, got {_json_type(value)}")
    return RawRecord(line, value, None)


# ---------------------------------------------------------------- CSV


def _first_decode_error(path: Path, compressed: bool, encoding: str) -> int | None:
    """Byte offset of the first undecodable byte, or None when the whole file decodes."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with _open_binary(path, compressed) as stream:
        while True:
            chunk = stream.read(_CHUNK_BYTES)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return max(offset + exc.start, 0)
            if not chunk:
                return None
            offset += len(chunk)


def _detect_csv_encoding(path: Path, compressed: bool) -> str:
    with _open_binary(path, compressed) as stream:
        head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # A whole pass costs little next to the import and is the only sure test: a GBK file
    # may run for thousands of ASCII rows before its first Chinese cell.
    utf8_error = _first_decode_error(path, compressed, "utf-8")
    if utf8_error is None:
        return "utf-8"
    if _first_decode_error(path, compressed, "gb18030") is None:
        logger.info("%s is not UTF-8; reading it as GB18030 (GBK)", path)
        return "gb18030"
    raise ReaderError(
        f"{path}: neither UTF-8 (bad byte at offset {utf8_error}) nor GB18030; save it as CSV UTF-8"
    )


def _clean_header(path: Path, line: int, cells: Sequence[Any]) -> list[str]:
    header = [
        str(cell).replace("\ufeff", "").strip().lower() if cell is not None else ""
        for cell in cells
    ]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise ReaderError(f"{path}: line {line}: the header row is empty")
    named = [name for name in header if name]
    duplicates = sorted({name for name in named if named.count(name) > 1})
    if duplicates:
        raise ReaderError(f"{path}: line {line}: duplicate column names: {', '.join(duplicates)}")
    return header


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _build_record(
    line: int,
    header: Sequence[str],
    cells: Sequence[Any],
    convert: Callable[[str, Any], Any],
) -> RawRecord:
    filled = [position for position, cell in enumerate(cells) if not _is_blank(cell)]
    if filled and filled[-1] >= len(header):
        return RawRecord(
            line, None, f"{filled[-1] + 1} values but the header has {len(header)} columns"
        )
    data: dict[str, Any] = {}
    for position, name in enumerate(header):
        if name:  # an unnamed column carries nothing a record could hold
            data[name] = convert(name, cells[position] if position < len(cells) else None)
    return RawRecord(line, data, None)


def _convert_text_cell(name: str, value: Any) -> Any:
    if _is_blank(value):
        return None
    text = str(value).strip()
    return split_list(text) if name in LIST_FIELDS else text


class _LineFeed:
    """Numbered physical lines for csv.reader; the lines of a bad record can be read again."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = enumerate(lines, 1)
        self._again: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        numbered = self._again.popleft() if self._again else next(self._lines)
        self.taken.append(numbered)
        return numbered[1]

    def start_record(self) -> None:
        """Forget the lines of the previous record."""
        self.taken = []

    def reread_after_first(self) -> None:
        """Feed the record's lines after its first again: a stray quote must not eat rows."""
        self._again.extendleft(reversed(self.taken[1:]))


def _table_records(
    path: Path,
    rows: Iterable[tuple[int, Sequence[Any]] | RawRecord],
    convert: Callable[[str, Any], Any],
) -> Iterator[RawRecord]:
    """Records of a table's numbered rows: blank rows skipped, the first other row is the
    header; a row that could not be read (a RawRecord) passes through."""
    header: list[str] | None = None
    for row in rows:
        if isinstance(row, RawRecord):
            yield row
            continue
        line, cells = row
        if all(_is_blank(cell) for cell in cells):
            continue
        if header is None:
            header = _clean_header(path, line, cells)
            continue
        yield _build_record(line, header, cells, convert)


def _csv_rows(feed: _LineFeed) -> Iterator[tuple[int, list[str]] | RawRecord]:
    """Each CSV record with the line it starts on, or a RawRecord naming why it is malformed."""
    # strict: an unterminated quote fails where it runs into the next quoted cell (or the
    # end of the file) instead of silently swallowing the rows in between.
    reader = csv.reader(feed, strict=True)
    while True:
        feed.start_record()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start = feed.taken[0][0] if feed.taken else 0
            spanned = len(feed.taken) > 1
            hint = " (a quote opened on this line is not closed)" if spanned else ""
            yield RawRecord(start, None, f"malformed CSV: {exc}{hint}")
            feed.reread_after_first()
            continue
        yield feed.taken[0][0], cells


def _iter_csv(path: Path, compressed: bool) -> Iterator[RawRecord]:
    encoding = _detect_csv_encoding(path, compressed)
    with _open_text(path, compressed, encoding) as text:
        yield from _table_records(path, _csv_rows(_LineFeed(text)), _convert_text_cell)


# ---------------------------------------------------------------- XLSX


def _convert_xlsx_cell(name: str, value: Any) -> Any:
    if isinstance(value, str):
        return _convert_text_cell(name, value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return value


def _open_workbook(path: Path) -> Any:
    from openpyxl import load_workbook  # imported here: only XLSX imports pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError) as exc:
        raise ReaderError(f"{path}: not a readable XLSX workbook: {exc}") from exc


def _iter_xlsx(path: Path) -> Iterator[RawRecord]:
    workbook = _open_workbook(path)
    try:
        sheet = workbook.worksheets[0]
        # Some writers declare a wrong sheet size; trusting it would drop rows silently.
        sheet.reset_dimensions()
        rows: Iterable[Sequence[Any]] = sheet.iter_rows(values_only=True)
        yield from _table_records(path, enumerate(rows, 1), _convert_xlsx_cell)
    finally:
        workbook.close()


def _count_xlsx_rows(path: Path) -> int | None:
    workbook = _open_workbook(path)
    try:
        max_row = workbook.worksheets[0].max_row
    finally:
        workbook.close()
    return max(max_row - 1, 0) if isinstance(max_row, int) else None
