"""Campaign contact lists imported from CSV: good rows in, broken rows reported by line.

Format (what an office exports from a spreadsheet or a CRM): a header row, then one contact
per row. Columns are matched by name, case-insensitively:

- ``number`` (or ``phone``, ``telephone``, ``tel``, ``телефон``): required; any spelling
  the number normaliser accepts (``8 (916) 123-45-67``);
- ``name`` (``имя``, ``фио``): optional;
- ``priority`` (``приоритет``): optional integer 0-9 (higher is called first), default 0;
- ``scheduled`` (or ``date``, ``when``, ``дата``): optional, ISO 8601 date or date-time,
  in the box's timezone unless it carries an offset; the contact is not called before it;
- any other column: a custom field, kept as text and shown to the agent (preview).

The delimiter (``,`` ``;`` or tab) is detected; the text may be UTF-8 (with or without a
BOM) or Windows-1251 (what Excel writes in Russian locales).

Errors come in two kinds. A *row* error (malformed or blacklisted number, bad priority or
date, wrong number of fields, a number already in the list or the campaign) is reported
with its line number and reason, and the row is skipped; the good rows are imported. A
*fatal* error (no header, no number column, undecodable text, too many rows, a field too
long for the parser) raises ``ContactImportError`` and imports nothing. Good rows are
written in one transaction: an import is applied whole or not at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Final
from zoneinfo import ZoneInfo

from firmware.numbers import MalformedNumber, normalize_number
from firmware.store import CampaignContact, EventStore

MAX_ROWS: Final = 100_000
MAX_FIELD: Final = 1024
NUMBER_COLUMNS: Final = ("number", "phone", "telephone", "tel", "телефон")
NAME_COLUMNS: Final = ("name", "имя", "фио")
PRIORITY_COLUMNS: Final = ("priority", "приоритет")
SCHEDULE_COLUMNS: Final = ("scheduled", "date", "when", "дата")


class ContactImportError(ValueError):
    """The file as a whole cannot be imported; nothing was."""


@dataclass(frozen=True)
class RowError:
    line: int      # 1-based line of the file (the header is line 1)
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ParsedContact:
    line: int
    number: str
    name: str = ""
    priority: int = 0
    scheduled_ts: float | None = None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportReport:
    import_id: str
    imported: int
    errors: list[RowError]
    contacts: list[ParsedContact]


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError as exc:  # cp1251 leaves one byte (0x98) undefined
        raise ContactImportError(f"the file is neither UTF-8 nor Windows-1251: {exc}") from exc


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    first = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def parse_contacts(
    data: bytes | str,
    *,
    country: str,
    timezone: str,
    blacklist: Container[str] = frozenset(),
    existing: Container[str] = frozenset(),
) -> tuple[list[ParsedContact], list[RowError]]:
    """Parse a contact list; ``existing`` holds numbers the campaign already has."""
    text = _decode(data)
    if "\x00" in text:
        raise ContactImportError("the file contains NUL bytes: not a text CSV")
    if not text.strip():
        raise ContactImportError("the file is empty")
    zone = ZoneInfo(timezone)
    # strict: a quote left open at the end of the file is an error, not a silent merge
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text), strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ContactImportError(f"line 1: {exc}") from exc
    names = [h.strip().lower() for h in header]
    number_col = next((names.index(c) for c in NUMBER_COLUMNS if c in names), None)
    if number_col is None:
        raise ContactImportError(
            f"line 1: no number column (one of {', '.join(NUMBER_COLUMNS)}) in the header "
            f"{header!r}")
    duplicates = {n for n in names if n and names.count(n) > 1}
    if duplicates:
        raise ContactImportError(f"line 1: duplicate columns {sorted(duplicates)}")
    name_col = next((names.index(c) for c in NAME_COLUMNS if c in names), None)
    priority_col = next((names.index(c) for c in PRIORITY_COLUMNS if c in names), None)
    schedule_col = next((names.index(c) for c in SCHEDULE_COLUMNS if c in names), None)
    known = {number_col, name_col, priority_col, schedule_col}
    custom = [(i, header[i].strip()) for i in range(len(names)) if i not in known and names[i]]

    contacts: list[ParsedContact] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    rows = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ContactImportError(f"line {reader.line_num}: {exc}") from exc
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines are not contacts
        rows += 1
        if rows > MAX_ROWS:
            raise ContactImportError(f"more than {MAX_ROWS} contacts in one file")
        if len(row) != len(header):
            errors.append(RowError(line, f"{len(row)} fields, the header has {len(header)}"))
            continue
        if any(len(cell) > MAX_FIELD for cell in row):
            errors.append(RowError(line, f"a field is longer than {MAX_FIELD} characters"))
            continue
        raw_number = row[number_col].strip()
        if not raw_number:
            errors.append(RowError(line, "no number"))
            continue
        try:
            number = normalize_number(raw_number, country)
        except MalformedNumber as exc:
            errors.append(RowError(line, f"malformed number: {exc}"))
            continue
        if number in blacklist:
            errors.append(RowError(line, f"number {number} is blacklisted"))
            continue
        if number in seen:
            errors.append(RowError(line, f"number {number} already on line {seen[number]}"))
            continue
        if number in existing:
            errors.append(RowError(line, f"number {number} is already in the campaign"))
            continue
        priority = 0
        if priority_col is not None and row[priority_col].strip():
            text_priority = row[priority_col].strip()
            if not text_priority.isdigit() or not 0 <= int(text_priority) <= 9:
                errors.append(RowError(line, f"priority {text_priority!r} is not 0-9"))
                continue
            priority = int(text_priority)
        scheduled: float | None = None
        if schedule_col is not None and row[schedule_col].strip():
            when = row[schedule_col].strip()
            try:
                parsed = dt.datetime.fromisoformat(when)
            except ValueError:
                errors.append(RowError(line, f"scheduled {when!r} is not an ISO 8601 date/time"))
                continue
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=zone)
            scheduled = parsed.timestamp()
        seen[number] = line
        contacts.append(ParsedContact(
            line=line, number=number,
            name=row[name_col].strip() if name_col is not None else "",
            priority=priority, scheduled_ts=scheduled,
            fields={label: row[i].strip() for i, label in custom},
        ))
    if rows == 0:
        raise ContactImportError("the file has a header but no contacts")
    return contacts, errors


def import_contacts(
    store: EventStore,
    campaign: str,
    data: bytes | str,
    now: float,
    *,
    country: str,
    timezone: str,
    blacklist: Container[str] = frozenset(),
) -> ImportReport:
    """Parse and store a contact list for ``campaign`` (all good rows, in one transaction)."""
    contacts, errors = parse_contacts(
        data, country=country, timezone=timezone, blacklist=blacklist,
        existing=store.campaign_numbers(campaign),
    )
    import_id = uuid.uuid4().hex
    records = [
        CampaignContact(
            id=None, campaign=campaign, number=c.number, status="pending",
            next_ts=c.scheduled_ts if c.scheduled_ts is not None else now, updated_ts=now,
            import_id=import_id, line=c.line, name=c.name, priority=c.priority,
            scheduled_ts=c.scheduled_ts, fields=c.fields,
        )
        for c in contacts
    ]
    with store.transaction():
        store.campaign_insert_contacts(records)
        store.audit("campaigns", "import", {
            "campaign": campaign, "import_id": import_id, "imported": len(records),
            "rejected": len(errors),
        })
    return ImportReport(import_id, len(records), errors, contacts)
