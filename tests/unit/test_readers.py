"""File readers for bulk import: exact records and line numbers from real files of each format."""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from app.importing.readers import (
    LIST_FIELDS,
    RawRecord,
    ReaderError,
    count_lines,
    detect_format,
    iter_raw_records,
    split_list,
)


def read(path: Path) -> list[RawRecord]:
    return list(iter_raw_records(path))


def ok(line: int, **data: object) -> RawRecord:
    return RawRecord(line, dict(data), None)


# ---------------------------------------------------------------- JSON Lines

JSONL_WITH_PROBLEMS = (
    '\ufeff{"external_id": "j1", "skills": ["PLC", "CAD"], "salary_min": 8000}\n'
    "\n"
    '{"external_id": "j2", "title": "电气工程师"}\n'
    '{"external_id": "j3", "title": }\n'
    "   \n"
    "[1, 2]\n"
    '"just a string"\n'
    '{"external_id": "j4", "description": "第一行\\u2028第二行"}\n'
)
JSONL_EXPECTED = [
    ok(1, external_id="j1", skills=["PLC", "CAD"], salary_min=8000),
    ok(3, external_id="j2", title="电气工程师"),
    RawRecord(4, None, "invalid JSON: Expecting value (column 32)"),
    RawRecord(6, None, "expected a JSON object, got an array"),
    RawRecord(7, None, "expected a JSON object, got a string"),
    ok(8, external_id="j4", description="第一行\u2028第二行"),
]


def test_jsonl_reports_bad_lines_with_their_numbers_and_keeps_reading(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text(JSONL_WITH_PROBLEMS, encoding="utf-8")
    assert read(path) == JSONL_EXPECTED


def test_ndjson_json_and_gzip_variants_read_the_same(tmp_path: Path) -> None:
    for name in ("jobs.ndjson", "jobs.json"):
        (tmp_path / name).write_text(JSONL_WITH_PROBLEMS, encoding="utf-8")
        assert read(tmp_path / name) == JSONL_EXPECTED
    with gzip.open(tmp_path / "jobs.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write(JSONL_WITH_PROBLEMS)
    assert read(tmp_path / "jobs.jsonl.gz") == JSONL_EXPECTED


def test_jsonl_line_that_is_not_utf8_is_an_error_record(tmp_path: Path) -> None:
    path = tmp_path / "graduates.jsonl"
    path.write_bytes(
        b'{"external_id": "g1"}\n'
        + '{"external_id": "g2", "name": "张伟"}\n'.encode("gbk")
        + b'{"external_id": "g3"}'  # no final newline
    )
    assert read(path) == [
        ok(1, external_id="g1"),
        RawRecord(2, None, "not valid UTF-8 (byte 32 of the line)"),
        ok(3, external_id="g3"),
    ]


@pytest.mark.parametrize(
    "content",
    [
        '[{"external_id": "j1"}, {"external_id": "j2"}]\n',
        '[\n  {"external_id": "j1"}\n]\n',
        '{\n  "external_id": "j1"\n}\n',
    ],
    ids=["one-line array", "pretty array", "pretty object"],
)
def test_whole_json_documents_are_refused_with_a_hint(tmp_path: Path, content: str) -> None:
    path = tmp_path / "jobs.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReaderError, match="not JSON Lines; write one JSON object per line"):
        read(path)


def test_damaged_gzip_raises_reader_error(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"external_id": "j1"}\n' * 100)[:40])
    with pytest.raises(ReaderError, match="damaged gzip"):
        read(path)


# ---------------------------------------------------------------- CSV

CSV_TEXT = (
    "external_id,name,major,skills,desired_cities,expected_salary,phone,summary\r\n"
    'g1,张伟,电气工程及其自动化,"PLC；CAD、EPLAN",宁波;杭州,8000,013800000000,\r\n'
    'g2,李娜,自动化,"[""PLC"", ""WinCC""]",宁波,,,"第一行\r\n第二行"\r\n'
    ",,,,,,,\r\n"
    "g3,王磊,机械设计制造及其自动化,SolidWorks|CAD，UG,宁波,7000.50,,\r\n"
    "g4,赵敏,会计学,Excel,宁波,6000,,,extra\r\n"
    "g5,陈晨\r\n"
)
CSV_EXPECTED = [
    ok(
        2,
        external_id="g1",
        name="张伟",
        major="电气工程及其自动化",
        skills=["PLC", "CAD", "EPLAN"],
        desired_cities=["宁波", "杭州"],
        expected_salary="8000",
        phone="013800000000",
        summary=None,
    ),
    ok(
        3,
        external_id="g2",
        name="李娜",
        major="自动化",
        skills=["PLC", "WinCC"],
        desired_cities=["宁波"],
        expected_salary=None,
        phone=None,
        summary="第一行\r\n第二行",
    ),
    ok(
        6,
        external_id="g3",
        name="王磊",
        major="机械设计制造及其自动化",
        skills=["SolidWorks", "CAD", "UG"],
        desired_cities=["宁波"],
        expected_salary="7000.50",
        phone=None,
        summary=None,
    ),
    RawRecord(7, None, "9 values but the header has 8 columns"),
    ok(
        8,
        external_id="g5",
        name="陈晨",
        major=None,
        skills=None,
        desired_cities=None,
        expected_salary=None,
        phone=None,
        summary=None,
    ),
]


def test_csv_rows_with_lists_empty_cells_and_a_multiline_cell(tmp_path: Path) -> None:
    path = tmp_path / "graduates.csv"
    path.write_text(CSV_TEXT, encoding="utf-8", newline="")
    assert read(path) == CSV_EXPECTED


def test_csv_with_bom_and_gzip_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "graduates.csv"
    path.write_text(CSV_TEXT, encoding="utf-8-sig", newline="")
    assert read(path) == CSV_EXPECTED
    with gzip.open(tmp_path / "graduates.csv.gz", "wt", encoding="utf-8", newline="") as out:
        out.write(CSV_TEXT)
    assert read(tmp_path / "graduates.csv.gz") == CSV_EXPECTED


def test_gbk_csv_is_read_even_when_chinese_appears_late(tmp_path: Path) -> None:
    rows = ["external_id,major,skills"] + [f"g{i},automation,PLC" for i in range(1, 3000)]
    rows.append("g3000,电气工程及其自动化,PLC、电气设计、CAD")
    path = tmp_path / "excel-export.csv"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("gbk"))
    records = read(path)
    assert len(records) == 3000
    assert records[0] == ok(2, external_id="g1", major="automation", skills=["PLC"])
    assert records[-1] == ok(
        3001, external_id="g3000", major="电气工程及其自动化", skills=["PLC", "电气设计", "CAD"]
    )


def test_csv_in_no_known_encoding_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(b"external_id,name\ng1,\xff\xfe\xfd\xff\n")
    with pytest.raises(ReaderError, match="neither UTF-8 .* nor GB18030"):
        read(path)


def test_csv_header_is_trimmed_and_lowercased_and_duplicates_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text("\n External_ID , Title,\nj1,PLC工程师,\n", encoding="utf-8")
    assert read(path) == [ok(3, external_id="j1", title="PLC工程师")]
    path.write_text("external_id,skills,Skills\nj1,a,b\n", encoding="utf-8")
    with pytest.raises(ReaderError, match="line 1: duplicate column names: skills"):
        read(path)


# ---------------------------------------------------------------- XLSX


def write_workbook(path: Path, rows: list[list[object]]) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("ignored").append(["external_id"])
    workbook.save(path)


def test_xlsx_first_sheet_with_typed_cells(tmp_path: Path) -> None:
    path = tmp_path / "jobs.xlsx"
    write_workbook(
        path,
        [
            ["external_id", "title", "salary_min", "salary_max", "skills", "posted_at", "note"],
            ["j1", "电气工程师", 8000.0, 12000, "PLC；CAD", date(2026, 10, 8), 7.5],
            ["j2", "  ", None, "9000", '["PLC", "WinCC"]', datetime(2026, 10, 9, 14, 30), None],
            [],
            ["j3", "质量工程师", 6000, 9000, "SPC", datetime(2026, 11, 1), True, "extra"],
            [1001, "设备工程师", None, None, None, None, None],
        ],
    )
    assert read(path) == [
        ok(
            2,
            external_id="j1",
            title="电气工程师",
            salary_min=8000,
            salary_max=12000,
            skills=["PLC", "CAD"],
            posted_at="2026-10-08",
            note=7.5,
        ),
        ok(
            3,
            external_id="j2",
            title=None,
            salary_min=None,
            salary_max="9000",
            skills=["PLC", "WinCC"],
            posted_at="2026-10-09T14:30:00",
            note=None,
        ),
        RawRecord(5, None, "8 values but the header has 7 columns"),
        ok(
            6,
            external_id=1001,
            title="设备工程师",
            salary_min=None,
            salary_max=None,
            skills=None,
            posted_at=None,
            note=None,
        ),
    ]
    assert isinstance(read(path)[0].data["salary_min"], int)  # type: ignore[index]
    assert count_lines(path) == 5


def test_file_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.xlsx"
    path.write_text("external_id,title\n", encoding="utf-8")
    with pytest.raises(ReaderError, match="not a readable XLSX workbook"):
        read(path)


# ---------------------------------------------------------------- formats and counts


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jsonl", ("jsonl", False)),
        ("a.NDJSON", ("jsonl", False)),
        ("a.2026.json.gz", ("jsonl", True)),
        ("a.csv.gz", ("csv", True)),
        ("a.xlsx", ("xlsx", False)),
    ],
)
def test_format_comes_from_the_suffix(name: str, expected: tuple[str, bool]) -> None:
    assert detect_format(Path(name)) == expected


@pytest.mark.parametrize("name", ["a.xls", "a.xlsx.gz", "a.txt", "a.gz", "jobs"])
def test_unsupported_suffixes_are_refused_before_reading(name: str) -> None:
    with pytest.raises(ReaderError, match="unsupported file type"):
        iter_raw_records(Path(name))


def test_count_lines_gives_data_lines_or_none_when_costly(tmp_path: Path) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"a": 1}\n{"a": 2}\n{"a": 3}', encoding="utf-8")
    assert count_lines(jsonl) == 3
    csv_path = tmp_path / "a.csv"
    csv_path.write_text("external_id\nj1\nj2\n", encoding="utf-8")
    assert count_lines(csv_path) == 2
    (tmp_path / "empty.csv").write_bytes(b"")
    assert count_lines(tmp_path / "empty.csv") == 0
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b'{"a": 1}\n'))
    assert count_lines(tmp_path / "a.jsonl.gz") is None


@pytest.mark.parametrize(
    ("cell", "items"),
    [
        ("PLC;CAD；EPLAN", ["PLC", "CAD", "EPLAN"]),
        ("宁波、杭州,上海，绍兴|舟山", ["宁波", "杭州", "上海", "绍兴", "舟山"]),
        (" Spring Boot , C++ ", ["Spring Boot", "C++"]),
        ('["PLC", " CAD ", ""]', ["PLC", "CAD"]),
        ("['PLC', 'CAD']", ["PLC", "CAD"]),
        ("PLC\nCAD", ["PLC", "CAD"]),
        (";;", []),
    ],
)
def test_split_list(cell: str, items: list[str]) -> None:
    assert split_list(cell) == items


def test_list_fields_are_the_schema_list_fields() -> None:
    assert {"skills", "majors", "desired_cities", "desired_roles"} == LIST_FIELDS


def test_records_round_trip_through_json(tmp_path: Path) -> None:
    path = tmp_path / "graduates.csv"
    path.write_text(CSV_TEXT, encoding="utf-8", newline="")
    for record in read(path):
        json.dumps(record.data, ensure_ascii=False)


def test_an_unterminated_quote_fails_its_line_and_keeps_the_rows_after_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(
        "external_id,title\n"
        "j1,PLC\n"
        'j2,"电气工程师\n'
        'j3,"多行\n描述"\n'
        "j4,会计\n"
        'j5,"no end\n'
        "j6,last\n",
        encoding="utf-8",
    )
    records = read(path)
    assert [(record.line, record.data and record.data["external_id"]) for record in records] == [
        (2, "j1"),
        (3, None),
        (4, "j3"),
        (6, "j4"),
        (7, None),
        (8, "j6"),
    ]
    assert records[1].error is not None and "not closed" in records[1].error
    assert records[2].data == {"external_id": "j3", "title": "多行\n描述"}
