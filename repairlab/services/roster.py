"""Reading a roster CSV into checked rows, with a message for every bad row.

Pure (no database), so the file's own problems are found and tested apart
from the checks that need the database (existing accounts, roles), which
`cohorts.CohortService.import_roster` adds before writing anything.

Format: a header row, then one person per row. Columns `username`,
`display_name` and `email` are required, `role` (trainee or supervisor;
default trainee) is optional; header names are case-insensitive and may use
a space instead of the underscore. Comma- or semicolon-separated (as some
spreadsheet programs write it), UTF-8 with or without a byte-order mark.
Row numbers in messages are the spreadsheet's: the header is row 1.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from .access import SUPERVISOR, TRAINEE
from .accounts import clean_email, clean_name, clean_username
from .errors import UserFacingError

REQUIRED = ("username", "display_name", "email")
OPTIONAL = ("role",)
MAX_BYTES = 1_000_000
MAX_ROWS = 2_000
ROSTER_ROLES = (TRAINEE, SUPERVISOR)


@dataclass(frozen=True)
class RosterRow:
    row: int
    username: str
    display_name: str
    email: str
    role: str


@dataclass(frozen=True)
class RowProblem:
    row: int | None  # None: the file as a whole
    message: str

    def __str__(self) -> str:
        return self.message if self.row is None else f"Row {self.row}: {self.message}"


class RosterRejected(UserFacingError):
    """Nothing was imported; `problems` lists every reason, row by row."""

    def __init__(self, problems: list[RowProblem]) -> None:
        rows = sorted({p.row for p in problems if p.row is not None})
        if rows:
            head = (
                f"Nothing was imported: {len(rows)} row{'s' if len(rows) != 1 else ''} "
                f"{'have' if len(rows) != 1 else 'has'} problems. Fix them and upload the file again."
            )
        else:
            head = "Nothing was imported."
        super().__init__("\n".join([head, *(str(p) for p in problems)]))
        self.problems = problems


def _header_name(raw: str) -> str:
    return "_".join(raw.strip().lower().replace("-", " ").split())


def parse_roster(data: str | bytes) -> tuple[list[RosterRow], list[RowProblem]]:
    """Rows that passed the file's own checks, and problems (empty if all is well)."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            return [], [RowProblem(None, f"The file is larger than {MAX_BYTES // 1_000_000} MB.")]
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [
                RowProblem(None, "The file is not UTF-8 text; save it from your spreadsheet as 'CSV UTF-8'.")
            ]
    text = data.lstrip("\ufeff")
    if len(text) > MAX_BYTES:
        return [], [RowProblem(None, f"The file is larger than {MAX_BYTES // 1_000_000} MB.")]
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return [], [
            RowProblem(None, "The file is empty; it needs a header row: username,display_name,email,role.")
        ]
    except csv.Error as error:
        return [], [RowProblem(None, f"The header row cannot be read as CSV ({error}).")]
    columns = [_header_name(name) for name in header]
    problems: list[RowProblem] = []
    missing = [name for name in REQUIRED if name not in columns]
    unknown = [
        raw for raw, name in zip(header, columns, strict=True) if name and name not in REQUIRED + OPTIONAL
    ]
    duplicated = sorted({name for name in columns if name and columns.count(name) > 1})
    if missing:
        problems.append(
            RowProblem(
                None,
                f"The header row lacks the column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} (expected: username,display_name,email,role).",
            )
        )
    if unknown:
        problems.append(
            RowProblem(
                None,
                f"Unknown column{'s' if len(unknown) > 1 else ''}: "
                f"{', '.join(repr(u) for u in unknown)} (expected: username,display_name,email,role).",
            )
        )
    if duplicated:
        problems.append(
            RowProblem(
                None,
                f"The column{'s' if len(duplicated) > 1 else ''} "
                f"{', '.join(duplicated)} appear{'' if len(duplicated) > 1 else 's'} twice.",
            )
        )
    if problems:
        return [], problems

    rows: list[RosterRow] = []
    first_row_of: dict[str, int] = {}
    count = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(RowProblem(reader.line_num, f"This row cannot be read as CSV ({error})."))
            break
        row_no = reader.line_num
        if not any(value.strip() for value in values):
            continue  # blank line
        count += 1
        if count > MAX_ROWS:
            problems.append(
                RowProblem(None, f"The file has more than {MAX_ROWS:,} people; split it into smaller files.")
            )
            break
        if len(values) > len(columns) and any(v.strip() for v in values[len(columns) :]):
            problems.append(
                RowProblem(
                    row_no,
                    f"This row has {len(values)} values but the header has {len(columns)} columns "
                    "(is there an unquoted comma in a name?).",
                )
            )
            continue
        record = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(columns)}
        row_problems: list[str] = []
        empty = [name for name in REQUIRED if not record.get(name)]
        if empty:
            row_problems.append(f"Missing {', '.join(empty)}.")
        username = display_name = email = ""
        if record.get("username"):
            try:
                username = clean_username(record["username"])
            except UserFacingError as error:
                row_problems.append(str(error))
        if record.get("display_name"):
            try:
                display_name = clean_name(record["display_name"])
            except UserFacingError as error:
                row_problems.append(str(error))
        if record.get("email"):
            try:
                email = clean_email(record["email"]) or ""
            except UserFacingError as error:
                row_problems.append(str(error))
        role = (record.get("role") or TRAINEE).strip().lower()
        if role not in ROSTER_ROLES:
            row_problems.append(f"The role '{record.get('role')}' is not trainee or supervisor.")
        if username:
            if username in first_row_of:
                row_problems.append(
                    f"The username '{username}' is already used in row {first_row_of[username]}."
                )
            else:
                first_row_of[username] = row_no
        if row_problems:
            problems.extend(RowProblem(row_no, message) for message in row_problems)
            continue
        rows.append(RosterRow(row_no, username, display_name, email, role))
    if not rows and not problems:
        problems.append(RowProblem(None, "The file has a header but no people in it."))
    return rows, problems
