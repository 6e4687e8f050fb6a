"""Read JSONL, CSV and XLSX files into raw records with their line numbers; no database here.

A bad line or row becomes a RawRecord with an error and reading goes on, so one bad row never
hides the good ones. Only problems with the file as a whole (unknown format, undecodable text,
a JSON array instead of JSON Lines, a duplicated column name) raise ReaderError.
"""

from __future__ import annotations

import codecs
import gzip
import json
import logging
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final, Protocol

from app.importing.raw import LIST_FIELDS, RawRecord, ReaderError, split_list
from app.importing.sheets import (
    LineFeed,
    convert_text_cell,
    count_xlsx_rows,
    csv_rows,
    iter_xlsx,
    table_records,
)

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
    return iter_xlsx(Path(path))


def count_lines(path: StrPath) -> int | None:
    """Data lines (or rows) after any header, as a progress-bar total; None when too costly."""
    fmt, compressed = detect_format(path)
    if compressed:
        return None
    if fmt == "xlsx":
        return count_xlsx_rows(Path(path))
    lines = 0
    last = b"\n"
    with Path(path).open("rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1  # a last line without a newline
    return max(lines - 1, 0) if fmt == "csv" else lines


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


def _iter_csv(path: Path, compressed: bool) -> Iterator[RawRecord]:
    encoding = _detect_csv_encoding(path, compressed)
    with _open_text(path, compressed, encoding) as text:
        yield from table_records(path, csv_rows(LineFeed(text)), convert_text_cell)
