"""Content loading (channel-free): commune profile, FAQ files, groups, abbreviations, out-of-scope words,
campaign templates. See content/README.md for the formats.

`read_content` collects every structural problem with its file and line and builds what it can;
`load_content` is the strict entry point used at start-up: it raises `ContentError` on any error.
Semantic checks that need the whole picture (taxonomy coverage, placeholders, rendered length…) live in
`bot.faq.check`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.report.config import ReportConfig, parse_report

Severity = Literal["error", "warning"]

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
VILLAGE_ID_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
FRONT_MATTER_FENCE = "+++"

COMMUNE_FILE = "commune.toml"
ABBREVIATIONS_FILE = "abbreviations.toml"
OUT_OF_SCOPE_FILE = "out_of_scope.toml"
FAQ_DIR = "faq"
GROUPS_FILE = "_groups.toml"
CAMPAIGNS_DIR = "campaigns"
EXAMPLES_DIR = "examples"  # <label>.txt: one example question per line (training data of the classifier)
REDIRECTS_FILE = "redirects.toml"
CONTEXT_FILE = "context.txt"  # neutral phrases residents wrap questions in (the classifier learns around them)

FAQ_KEYS = frozenset({"id", "title", "group", "questions", "keywords", "related", "as_of", "sources"})
TEMPLATE_KEYS = frozenset({"id", "title", "topic", "as_of", "sources"})


@dataclass(frozen=True)
class Problem:
    """One finding about the content, located at `path:line`."""

    path: Path
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


class ContentError(Exception):
    """The content cannot be used; `problems` says where and why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "content could not be loaded")


@dataclass(frozen=True)
class Village:
    id: str
    name: str


@dataclass(frozen=True)
class Commune:
    """The commune profile. `values` holds every scalar key of commune.toml, as text, for {{placeholders}}."""

    values: dict[str, str]
    display_name: str
    timezone: str
    quiet_start: time
    quiet_end: time
    office_weekdays: list[int]
    office_slots: list[tuple[time, time]]
    holidays: frozenset[date]
    villages: list[Village]
    villages_verified: bool
    report: ReportConfig = field(default_factory=ReportConfig)  # [report]: the monthly report (bot/report)

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def village(self, village_id: str) -> Village | None:
        return next((v for v in self.villages if v.id == village_id), None)


@dataclass(frozen=True)
class Group:
    id: str
    title: str


@dataclass(frozen=True)
class Faq:
    id: str
    title: str
    group: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    related: tuple[str, ...]
    as_of: date
    sources: tuple[str, ...]
    body: str
    path: Path
    line: int  # line of the first body line in `path`


@dataclass(frozen=True)
class Template:
    """A campaign template from content/campaigns/*.md."""

    id: str
    title: str
    topic: str
    as_of: date
    sources: tuple[str, ...]
    body: str
    path: Path
    line: int = 1  # line of the first body line in `path`


@dataclass(frozen=True)
class Redirect:
    """A neighbouring matter the bot declines with a pointer to who handles it (content/redirects.toml)."""

    id: str
    title: str
    text: str  # Vietnamese, may hold {{placeholders}}
    line: int = 1


@dataclass(frozen=True)
class Example:
    """One example question of a label, with where it was written."""

    text: str
    path: Path
    line: int


@dataclass(frozen=True)
class Content:
    commune: Commune
    faqs: dict[str, Faq]  # in file-name order
    groups: list[Group]
    abbreviations: dict[str, str]
    out_of_scope: tuple[str, ...]
    templates: dict[str, Template] = field(default_factory=dict)
    # label (FAQ id, redirect id or "out-of-scope") → example questions from content/examples/<label>.txt
    examples: dict[str, tuple[Example, ...]] = field(default_factory=dict)
    redirects: dict[str, Redirect] = field(default_factory=dict)
    # content/context.txt: greetings, who is asking, a bit of their story — phrases that point to no topic
    context: tuple[Example, ...] = ()

    def group(self, group_id: str) -> Group | None:
        return next((g for g in self.groups if g.id == group_id), None)


def render_placeholders(text: str, commune: Commune, unknown: str) -> str:
    """Replace `{{key}}` by the commune value; an empty or unknown value renders as `unknown`."""

    bare = unknown[1:-1].strip() if unknown.startswith("(") and unknown.endswith(")") else unknown

    def value(match: re.Match[str]) -> str:
        found = commune.values.get(match.group(1), "")
        if found.strip():
            return found
        # Inside parentheses already ("Công an xã ({{police_phone}})"): no second pair around the fallback.
        before = text[text.rfind("\n", 0, match.start()) + 1:match.start()]
        return bare if before.count("(") > before.count(")") else unknown

    return PLACEHOLDER_RE.sub(value, text)


def missing_values(text: str, commune: Commune) -> list[str]:
    """The {{placeholders}} of `text` whose commune value is empty or unknown (each once, in order)."""
    return list(dict.fromkeys(name for name in placeholders(text) if not commune.values.get(name, "").strip()))


def placeholders(text: str) -> list[str]:
    """Names of the {{placeholders}} in `text`, in order."""
    return PLACEHOLDER_RE.findall(text)


def load_content(content_dir: Path) -> Content:
    """Load everything under `content_dir`; raise `ContentError` when any file has an error."""
    content, problems = read_content(content_dir)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ContentError(errors)
    return content


def read_content(content_dir: Path) -> tuple[Content, list[Problem]]:
    """Load what can be loaded and list every structural problem (errors and warnings) found on the way.

    When commune.toml is unusable a blank profile stands in, so the other files can still be checked.
    """
    problems: list[Problem] = []
    commune = _read_commune(content_dir / COMMUNE_FILE, problems)
    groups = _read_groups(content_dir / FAQ_DIR / GROUPS_FILE, problems)
    faqs = _read_faqs(content_dir / FAQ_DIR, problems)
    abbreviations = _read_abbreviations(content_dir / ABBREVIATIONS_FILE, problems)
    out_of_scope = _read_out_of_scope(content_dir / OUT_OF_SCOPE_FILE, problems)
    templates = _read_templates(content_dir / CAMPAIGNS_DIR, problems)
    examples = _read_examples(content_dir / EXAMPLES_DIR, problems)
    redirects = _read_redirects(content_dir / REDIRECTS_FILE, problems)
    context = _read_lines(content_dir / CONTEXT_FILE, problems)
    content = Content(
        commune=commune or blank_commune(),
        faqs=faqs,
        groups=groups,
        abbreviations=abbreviations,
        out_of_scope=out_of_scope,
        templates=templates,
        examples=examples,
        redirects=redirects,
        context=context,
    )
    return content, problems


def blank_commune() -> Commune:
    """A profile with no values (used when commune.toml is broken, and by tests)."""
    return Commune(
        values={},
        display_name="",
        timezone="Asia/Ho_Chi_Minh",
        quiet_start=time(21, 0),
        quiet_end=time(6, 30),
        office_weekdays=[1, 2, 3, 4, 5],
        office_slots=[],
        holidays=frozenset(),
        villages=[],
        villages_verified=False,
    )


# --- TOML and front matter ----------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")
_KEY_LINE = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")


def _toml_error(exc: tomllib.TOMLDecodeError, path: Path, first_line: int, last_line: int) -> Problem:
    """A problem for a TOML syntax error; `first_line` is the file line of the TOML text's line 1."""
    message = str(exc)
    line = first_line
    pos = _TOML_POSITION.search(message)
    if pos:
        line = first_line + int(pos.group(1)) - 1
        message = f"{message[: pos.start()]} (column {pos.group(2)})"
    elif _TOML_END.search(message):
        line = last_line
        message = _TOML_END.sub(" (at the end)", message)
    return Problem(path, line, f"invalid TOML: {message}")


def _parse_toml(text: str, path: Path, first_line: int, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        last = first_line + max(text.count("\n") - 1, 0)
        problems.append(_toml_error(exc, path, first_line, last))
        return None


def _read_text(path: Path, problems: list[Problem]) -> str | None:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        problems.append(Problem(path, 1, "file is missing"))
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        problems.append(Problem(path, line, "file is not valid UTF-8"))
    except OSError as exc:
        problems.append(Problem(path, 1, f"cannot read file: {exc.strerror or exc}"))
    return None


def _load_toml_file(path: Path, problems: list[Problem]) -> tuple[dict[str, Any], list[str]] | None:
    text = _read_text(path, problems)
    if text is None:
        return None
    data = _parse_toml(text, path, 1, problems)
    if data is None:
        return None
    return data, text.splitlines()


@dataclass
class _Document:
    """A Markdown file with TOML front matter."""

    data: dict[str, Any]
    body: str
    body_line: int
    key_lines: dict[str, int]
    first_line: int  # file line of the opening fence


def _split_front_matter(path: Path, problems: list[Problem]) -> _Document | None:
    text = _read_text(path, problems)
    if text is None:
        return None
    lines = text.splitlines()
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or lines[start].strip() != FRONT_MATTER_FENCE:
        problems.append(Problem(path, start + 1, f"the file must start with a '{FRONT_MATTER_FENCE}' line"))
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() == FRONT_MATTER_FENCE), None)
    if end is None:
        problems.append(Problem(path, start + 1, f"front matter is not closed by a '{FRONT_MATTER_FENCE}' line"))
        return None
    toml_text = "\n".join(lines[start + 1 : end]) + "\n"
    data = _parse_toml(toml_text, path, start + 2, problems)
    if data is None:
        return None
    key_lines: dict[str, int] = {}
    for i in range(start + 1, end):
        match = _KEY_LINE.match(lines[i])
        if match:
            key = match.group(1) or match.group(2) or match.group(3)
            key_lines.setdefault(key, i + 1)
    body_start = end + 1
    while body_start < len(lines) and not lines[body_start].strip():
        body_start += 1
    body = "\n".join(line.rstrip() for line in lines[body_start:]).strip("\n")
    return _Document(data, body, body_start + 1, key_lines, start + 1)


def _line_of(lines: Sequence[str], needle: str, default: int, start: int = 0) -> int:
    """1-based line of the first line (from `start`) containing `needle`, else `default`."""
    for i in range(start, len(lines)):
        if needle in lines[i]:
            return i + 1
    return default


def _key_lines(lines: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, raw in enumerate(lines):
        match = _KEY_LINE.match(raw)
        if match:
            key = match.group(1) or match.group(2) or match.group(3)
            out.setdefault(key, i + 1)
    return out


class _Fields:
    """Typed access to a TOML table; every type error becomes a Problem at the key's line."""

    def __init__(
        self,
        data: Mapping[str, Any],
        path: Path,
        lines: Mapping[str, int],
        default_line: int,
        problems: list[Problem],
    ) -> None:
        self.data = data
        self.path = path
        self.lines = lines
        self.default_line = default_line
        self.problems = problems
        self.ok = True

    def line(self, key: str) -> int:
        return self.lines.get(key, self.default_line)

    def error(self, key: str, message: str) -> None:
        self.ok = False
        self.problems.append(Problem(self.path, self.line(key), message))

    def warn(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.path, self.line(key), message, "warning"))

    def _missing(self, key: str, required: bool) -> bool:
        if key in self.data:
            return False
        if required:
            self.error(key, f"'{key}' is missing")
        return True

    def text(self, key: str, required: bool = True, allow_empty: bool = False) -> str | None:
        if self._missing(key, required):
            return None
        value = self.data[key]
        if not isinstance(value, str):
            self.error(key, f"'{key}' must be a text in quotes, not {_type_name(value)}")
            return None
        if not allow_empty and not value.strip():
            self.error(key, f"'{key}' is empty")
            return None
        return value.strip()

    def texts(self, key: str, required: bool = True) -> tuple[str, ...] | None:
        if self._missing(key, required):
            return None if required else ()
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(key, f"'{key}' must be a list of texts in quotes")
            return None
        items = tuple(v.strip() for v in value)
        if any(not v for v in items):
            self.error(key, f"'{key}' has an empty item")
            return None
        return items

    def day(self, key: str, required: bool = True) -> date | None:
        if self._missing(key, required):
            return None
        value = self.data[key]
        if isinstance(value, date) and not hasattr(value, "hour"):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.error(key, f"'{key}' must be a date written as YYYY-MM-DD")
        return None

    def boolean(self, key: str, default: bool) -> bool:
        if key not in self.data:
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            self.error(key, f"'{key}' must be true or false")
            return default
        return value

    def unknown_keys(self, known: Iterable[str]) -> None:
        for key in sorted(set(self.data) - set(known)):
            self.warn(key, f"unknown key '{key}' (ignored)")


def _type_name(value: object) -> str:
    return {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a table"}.get(
        type(value), type(value).__name__
    )


# --- commune.toml -------------------------------------------------------------------------------------

_TIME_RE = re.compile(r"^\s*(\d{1,2})[:h](\d{2})\s*$")
_SLOT_SPLIT = re.compile(r"\s*[-–—]\s*")


def parse_clock(text: str) -> time | None:
    """ "07:30" → time(7, 30); None when it is not a valid HH:MM."""
    match = _TIME_RE.match(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_slot(text: str) -> tuple[time, time] | None:
    """ "07:30-11:30" → (07:30, 11:30); None when malformed or the end is not after the start."""
    parts = _SLOT_SPLIT.split(text.strip())
    if len(parts) != 2:
        return None
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if start is None or end is None or end <= start:
        return None
    return start, end


def _scalar_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, date | time):
        return value.isoformat()
    return None


def _read_commune(path: Path, problems: list[Problem]) -> Commune | None:
    loaded = _load_toml_file(path, problems)
    if loaded is None:
        return None
    data, lines = loaded
    fields = _Fields(data, path, _key_lines(lines), 1, problems)
    values = {k: s for k, v in data.items() if (s := _scalar_text(v)) is not None}

    display_name = fields.text("display_name") or ""
    timezone = fields.text("timezone") or "Asia/Ho_Chi_Minh"
    try:
        ZoneInfo(timezone)
    except (ValueError, OSError, KeyError):
        fields.error("timezone", f"unknown time zone '{timezone}'")

    quiet: list[time] = []
    for key, fallback in (("quiet_start", time(21, 0)), ("quiet_end", time(6, 30))):
        raw = fields.text(key)
        parsed = parse_clock(raw) if raw is not None else None
        if raw is not None and parsed is None:
            fields.error(key, f"'{key}' must be a time written as HH:MM, not '{raw}'")
        quiet.append(parsed or fallback)

    weekdays: list[int] = []
    slots: list[tuple[time, time]] = []
    holidays: set[date] = set()
    office = data.get("office")
    office_line = _line_of(lines, "[office]", 1)
    if not isinstance(office, dict):
        problems.append(Problem(path, office_line, "the [office] table is missing"))
        fields.ok = False
    else:
        office_fields = _Fields(office, path, _key_lines(lines), office_line, problems)
        raw_days = office.get("weekdays")
        if (
            not isinstance(raw_days, list)
            or not raw_days
            or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in raw_days)
        ):
            office_fields.error("weekdays", "'weekdays' must be a list of numbers from 1 (Monday) to 7 (Sunday)")
        elif len(set(raw_days)) != len(raw_days):
            office_fields.error("weekdays", "'weekdays' lists a day twice")
        else:
            weekdays = sorted(raw_days)
        raw_slots = office.get("slots")
        if not isinstance(raw_slots, list) or not raw_slots:
            office_fields.error("slots", '\'slots\' must be a list like ["07:30-11:30", "13:30-17:00"]')
        else:
            for raw in raw_slots:
                slot = parse_slot(raw) if isinstance(raw, str) else None
                if slot is None:
                    office_fields.error("slots", f'slot {raw!r} must look like "07:30-11:30" (end after start)')
                else:
                    slots.append(slot)
            ordered = sorted(slots)
            if any(a[1] > b[0] for a, b in pairwise(ordered)):
                office_fields.error("slots", "office slots overlap")
        raw_holidays = office.get("holidays", [])
        if not isinstance(raw_holidays, list):
            office_fields.error("holidays", "'holidays' must be a list of dates")
        else:
            for raw in raw_holidays:
                day: date | None = None
                if isinstance(raw, date) and not hasattr(raw, "hour"):
                    day = raw
                elif isinstance(raw, str):
                    try:
                        day = date.fromisoformat(raw.strip())
                    except ValueError:
                        day = None
                if day is None:
                    line = _line_of(lines, str(raw), office_fields.line("holidays"))
                    problems.append(Problem(path, line, f"holiday {raw!r} is not a date written as YYYY-MM-DD"))
                    fields.ok = False
                else:
                    holidays.add(day)
        office_fields.unknown_keys({"weekdays", "slots", "holidays"})
        fields.ok = fields.ok and office_fields.ok

    villages: list[Village] = []
    raw_villages = data.get("village", [])
    village_line = _line_of(lines, "[[village]]", 1)
    if not isinstance(raw_villages, list):
        problems.append(Problem(path, village_line, "villages must be written as [[village]] tables"))
        fields.ok = False
        raw_villages = []
    seen: set[str] = set()
    search_from = 0
    for raw in raw_villages:
        line = _line_of(lines, "[[village]]", village_line, search_from)
        search_from = line
        if not isinstance(raw, dict):
            problems.append(Problem(path, line, "a [[village]] must have id and name"))
            fields.ok = False
            continue
        vid, name = raw.get("id"), raw.get("name")
        if not isinstance(vid, str) or not VILLAGE_ID_RE.match(vid):
            problems.append(Problem(path, line, f"village id {vid!r} must be lowercase letters, digits and dashes"))
            fields.ok = False
            continue
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(path, line, f"village '{vid}' has no name"))
            fields.ok = False
            continue
        if vid in seen:
            problems.append(
                Problem(
                    path,
                    _line_of(lines, f'"{vid}"', line, search_from - 1),
                    f"village id '{vid}' is used twice",
                )
            )
            fields.ok = False
            continue
        seen.add(vid)
        villages.append(Village(vid, name.strip()))
    villages_verified = fields.boolean("villages_verified", False)
    report, report_problems = parse_report(data.get("report"))
    report_line = _line_of(lines, "[report]", 1)
    for key, message in report_problems:
        problems.append(Problem(path, _line_of(lines, key, report_line, report_line - 1), message))
        fields.ok = False

    if not fields.ok:
        return None
    return Commune(
        values=values,
        display_name=display_name,
        timezone=timezone,
        quiet_start=quiet[0],
        quiet_end=quiet[1],
        office_weekdays=weekdays,
        office_slots=slots,
        holidays=frozenset(holidays),
        villages=villages,
        villages_verified=villages_verified,
        report=report,
    )


# --- small TOML files ---------------------------------------------------------------------------------


def _read_groups(path: Path, problems: list[Problem]) -> list[Group]:
    loaded = _load_toml_file(path, problems)
    if loaded is None:
        return []
    data, lines = loaded
    raw_groups = data.get("group")
    if not isinstance(raw_groups, list) or not raw_groups:
        problems.append(Problem(path, 1, "no [[group]] tables"))
        return []
    groups: list[Group] = []
    seen: set[str] = set()
    search_from = 0
    for raw in raw_groups:
        line = _line_of(lines, "[[group]]", 1, search_from)
        search_from = line
        gid = raw.get("id") if isinstance(raw, dict) else None
        title = raw.get("title") if isinstance(raw, dict) else None
        if not isinstance(gid, str) or not ID_RE.match(gid):
            problems.append(Problem(path, line, f"group id {gid!r} must be lowercase letters, digits and dashes"))
            continue
        if not isinstance(title, str) or not title.strip():
            problems.append(Problem(path, line, f"group '{gid}' has no title"))
            continue
        if gid in seen:
            problems.append(Problem(path, line, f"group id '{gid}' is used twice"))
            continue
        seen.add(gid)
        groups.append(Group(gid, title.strip()))
    return groups


def _read_abbreviations(path: Path, problems: list[Problem]) -> dict[str, str]:
    loaded = _load_toml_file(path, problems)
    if loaded is None:
        return {}
    data, lines = loaded
    table = data.get("abbreviations")
    if not isinstance(table, dict):
        problems.append(Problem(path, 1, "the [abbreviations] table is missing"))
        return {}
    key_lines = _key_lines(lines)
    out: dict[str, str] = {}
    for key, value in table.items():
        line = key_lines.get(key, 1)
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(path, line, f"abbreviation '{key}' must map to a non-empty text"))
            continue
        if not key.strip():
            problems.append(Problem(path, line, "an abbreviation key is empty"))
            continue
        out[key.strip().lower()] = value.strip()
    return out


def _read_out_of_scope(path: Path, problems: list[Problem]) -> tuple[str, ...]:
    loaded = _load_toml_file(path, problems)
    if loaded is None:
        return ()
    data, lines = loaded
    fields = _Fields(data, path, _key_lines(lines), 1, problems)
    words = fields.texts("words")
    fields.unknown_keys({"words"})
    return words or ()


def _read_examples(folder: Path, problems: list[Problem]) -> dict[str, tuple[Example, ...]]:
    """content/examples/<label>.txt: one question per line; blank lines and lines starting with # skipped."""
    out: dict[str, tuple[Example, ...]] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.txt")):
        if not ID_RE.match(path.stem):
            problems.append(Problem(path, 1, f"example file name '{path.stem}' must be a FAQ or redirect id"))
            continue
        out[path.stem] = _read_lines(path, problems)
    return out


def _read_lines(path: Path, problems: list[Problem]) -> tuple[Example, ...]:
    """One text per line; blank lines and lines starting with # skipped (nothing when the file is absent)."""
    if not path.exists():
        return ()
    text = _read_text(path, problems)
    if text is None:
        return ()
    items: list[Example] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            items.append(Example(line, path, number))
    return tuple(items)


def _read_redirects(path: Path, problems: list[Problem]) -> dict[str, Redirect]:
    if not path.exists():
        return {}
    loaded = _load_toml_file(path, problems)
    if loaded is None:
        return {}
    data, lines = loaded
    out: dict[str, Redirect] = {}
    starts = [i + 1 for i, line in enumerate(lines) if line.strip() == "[[redirect]]"]
    for n, item in enumerate(data.get("redirect", [])):
        line = starts[n] if n < len(starts) else 1
        if not isinstance(item, dict):
            problems.append(Problem(path, line, "each [[redirect]] must be a table"))
            continue
        rid, title, text = item.get("id"), item.get("title"), item.get("text")
        unknown = set(item) - {"id", "title", "text"}
        if unknown:
            problems.append(Problem(path, line, f"unknown key(s) {', '.join(sorted(unknown))}"))
        if not (isinstance(rid, str) and ID_RE.match(rid)):
            problems.append(Problem(path, line, "a redirect needs an id of lowercase letters, digits and dashes"))
            continue
        if not (isinstance(title, str) and title.strip() and isinstance(text, str) and text.strip()):
            problems.append(Problem(path, line, f"redirect '{rid}' needs a title and a text"))
            continue
        if rid in out:
            problems.append(Problem(path, line, f"redirect '{rid}' is defined twice"))
            continue
        out[rid] = Redirect(rid, title.strip(), text.strip(), line)
    return out


# --- FAQ files and templates --------------------------------------------------------------------------


def _markdown_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".md" and p.is_file() and not p.name.startswith("."))


def _check_id(fields: _Fields, path: Path) -> str | None:
    fid = fields.text("id")
    if fid is None:
        return None
    if not ID_RE.match(fid):
        fields.error("id", f"id '{fid}' must be lowercase letters, digits and dashes")
        return None
    if fid != path.stem:
        fields.error("id", f"id '{fid}' must equal the file name '{path.stem}'")
        return None
    return fid


def _read_faqs(folder: Path, problems: list[Problem]) -> dict[str, Faq]:
    if not folder.is_dir():
        problems.append(Problem(folder, 1, "the FAQ folder is missing"))
        return {}
    faqs: dict[str, Faq] = {}
    for path in _markdown_files(folder):
        doc = _split_front_matter(path, problems)
        if doc is None:
            continue
        fields = _Fields(doc.data, path, doc.key_lines, doc.first_line, problems)
        fid = _check_id(fields, path)
        title = fields.text("title")
        group = fields.text("group")
        questions = fields.texts("questions")
        keywords = fields.texts("keywords", required=False)
        related = fields.texts("related", required=False)
        as_of = fields.day("as_of")
        sources = fields.texts("sources")
        fields.unknown_keys(FAQ_KEYS)
        if not doc.body.strip():
            problems.append(Problem(path, doc.body_line, "the answer text after the front matter is empty"))
            continue
        if (
            not fields.ok
            or fid is None
            or title is None
            or group is None
            or questions is None
            or keywords is None
            or related is None
            or as_of is None
            or sources is None
        ):
            continue
        if fid in faqs:
            problems.append(Problem(path, fields.line("id"), f"id '{fid}' is used by {faqs[fid].path} too"))
            continue
        faqs[fid] = Faq(
            id=fid,
            title=title,
            group=group,
            questions=questions,
            keywords=keywords,
            related=related,
            as_of=as_of,
            sources=sources,
            body=doc.body,
            path=path,
            line=doc.body_line,
        )
    return faqs


def _read_templates(folder: Path, problems: list[Problem]) -> dict[str, Template]:
    templates: dict[str, Template] = {}
    for path in _markdown_files(folder):
        doc = _split_front_matter(path, problems)
        if doc is None:
            continue
        fields = _Fields(doc.data, path, doc.key_lines, doc.first_line, problems)
        tid = _check_id(fields, path)
        title = fields.text("title")
        topic = fields.text("topic", required=False, allow_empty=True) or ""
        if topic and not ID_RE.match(topic):
            fields.error("topic", f"topic '{topic}' must be lowercase letters, digits and dashes")
        as_of = fields.day("as_of")
        sources = fields.texts("sources")
        fields.unknown_keys(TEMPLATE_KEYS)
        if not doc.body.strip():
            problems.append(Problem(path, doc.body_line, "the template text after the front matter is empty"))
            continue
        if not fields.ok or tid is None or title is None or as_of is None or sources is None:
            continue
        templates[tid] = Template(
            id=tid,
            title=title,
            topic=topic,
            as_of=as_of,
            sources=sources,
            body=doc.body,
            path=path,
            line=doc.body_line,
        )
    return templates
