"""Rows of CSV and XLSX files as records: a header row names the columns, blank rows are
skipped, list columns are split; XLSX cells keep their numbers and dates."""

from __future__ import annotations

import csv
import math
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from app.importing.raw import LIST_FIELDS, RawRecord, ReaderError, split_list


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


def convert_text_cell(name: str, value: Any) -> Any:
    if _is_blank(value):
        return None
    text = str(value).strip()
    return split_list(text) if name in LIST_FIELDS else text


class LineFeed:
    """Numbered physical lines for csv.reader; the lines of a bad record can be read again."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = enumerate(lines, 1)
        self._again: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> LineFeed:
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


def table_records(
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


def csv_rows(feed: LineFeed) -> Iterator[tuple[int, list[str]] | RawRecord]:
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


def _convert_xlsx_cell(name: str, value: Any) -> Any:
    if isinstance(value, str):
        return convert_text_cell(name, value)
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


def iter_xlsx(path: Path) -> Iterator[RawRecord]:
    workbook = _open_workbook(path)
    try:
        sheet = workbook.worksheets[0]
        # Some writers declare a wrong sheet size; trusting it would drop rows silently.
        sheet.reset_dimensions()
        rows: Iterable[Sequence[Any]] = sheet.iter_rows(values_only=True)
        yield from table_records(path, enumerate(rows, 1), _convert_xlsx_cell)
    finally:
        workbook.close()


def count_xlsx_rows(path: Path) -> int | None:
    workbook = _open_workbook(path)
    try:
        max_row = workbook.worksheets[0].max_row
    finally:
        workbook.close()
    return max(max_row - 1, 0) if isinstance(max_row, int) else None
