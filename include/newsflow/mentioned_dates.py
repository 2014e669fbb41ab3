"""Dates an article mentions ("on Friday", "August 21", "last year"), resolved to calendar dates.

Relative expressions are resolved against the article's publication date when it has one;
without it they are kept with their text and no dates. Every mention resolves to a range
``date_from``..``date_to`` (equal for a single day) with its granularity.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
         ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
         ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
         ("december", "dec")],
        start=1,
    )
    for name in names
}
WEEKDAYS = {name: n for n, name in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
NUMBER_WORDS = {w: n for n, w in enumerate(
    [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve"
    ])}
NUMBER_WORDS.update({"a": 1, "an": 1})

_MONTH = (
    r"(?P<month>January|February|March|April|May|June|July|August|September|October|November"
    r"|December|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)"
)
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:1[89]|20)\d\d)"
_WEEKDAY = r"(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_UNIT = r"(?P<unit>week|month|year)"
_COUNT = r"(?P<count>\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"

# Words that make a bare month or year a date ("in May", "since 2011"); not part of its text.
_BEFORE = r"(?:\b(?:in|since|until|during|before|after|early|late|end of|by) |\bmid-)"

# Tried in order at each position; the first match wins, so longer forms come first.
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)\b")),
    ("month_day", re.compile(rf"\b{_MONTH} {_DAY}\b(?:,? {_YEAR}\b)?")),
    ("day_month", re.compile(rf"\b{_DAY} (?:of )?{_MONTH}(?:,? {_YEAR})?\b")),
    ("month_year", re.compile(rf"\b{_MONTH},? {_YEAR}\b")),
    # Not the shopping days and holidays named after weekdays ("Black Friday"). The
    # lookaheads of first letters only save time: the look-behinds and alternatives are
    # then tried at few positions (a third of the CPU of these two patterns).
    ("weekday", re.compile(
        rf"\b(?=[lnptcmwfs])(?<!Black )(?<!Cyber )(?<!Good )(?<!Super )(?<!Giving )"
        rf"(?:(?P<which>last|next|this|past|coming) )?{_WEEKDAY}\b", re.IGNORECASE)),
    ("ago", re.compile(rf"\b(?=[\daotfsen]){_COUNT} (?P<unit>day|week|month|year)s? ago\b",
                       re.IGNORECASE)),
    ("relative_day", re.compile(
        r"\b(?P<word>the day before yesterday|the day after tomorrow|yesterday|today|tomorrow"
        r"|tonight|last night|this morning|this afternoon|this evening)\b", re.IGNORECASE)),
    ("part_of_period", re.compile(
        rf"\b(?P<part>earlier|later) (?:this|in the) {_UNIT}\b", re.IGNORECASE)),
    ("period", re.compile(rf"\b(?P<which>last|this|next|past|coming) {_UNIT}\b",
                          re.IGNORECASE)),
    ("month", re.compile(rf"\b(?P<which>last|next|this) {_MONTH}\b(?! \d)")),
    ("month", re.compile(rf"{_BEFORE}(?P<expr>{_MONTH})\b(?! \d)")),
    ("decade", re.compile(r"\b(?:the )?(?P<decade>(?:1[89]|20)\d0)s\b")),
    ("year", re.compile(rf"{_BEFORE}(?P<expr>{_YEAR})\b(?![-/]\d)")),
]
FUTURE = re.compile(r"\b(?:will|'ll|shall|is due|are due|is expected to|are expected to"
                    r"|is scheduled|are scheduled|next)\b", re.IGNORECASE)


@dataclass(frozen=True)
class MentionedDate:
    """A date expression in the text, resolved to a range of days when possible."""

    text: str
    start: int
    end: int
    granularity: str
    date_from: date | None = None
    date_to: date | None = None

    @property
    def resolved(self) -> bool:
        """Whether the mention was turned into calendar dates."""
        return self.date_from is not None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``newsflow extract`` and staged for loading."""
        return {
            "text": self.text, "granularity": self.granularity,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "resolved": self.resolved, "start": self.start, "end": self.end,
        }


def publication_day(published_at: str | date | None) -> date | None:
    """The calendar day of a publication date (ISO text or date) in its own time zone."""
    if published_at is None or isinstance(published_at, date):
        return published_at.date() if isinstance(published_at, datetime) else published_at
    try:
        return datetime.fromisoformat(published_at.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def find_dates(text: str, published: date | None = None) -> list[MentionedDate]:
    """The dates a text mentions, resolved relative to its publication day.

    Args:
        text: the article body.
        published: the publication day; relative dates stay unresolved without it.

    Returns:
        One ``MentionedDate`` per expression, in order, none overlapping.
    """
    found: list[tuple[int, int, str, re.Match[str]]] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span("expr") if "expr" in pattern.groupindex else match.span()
            if not any(start < taken_end and taken_start < end
                       for taken_start, taken_end, _, _ in found):
                found.append((start, end, kind, match))
    dates = []
    for start, end, kind, match in sorted(found, key=lambda f: f[0]):
        mention = _resolve(kind, match, text[start:end], start, published)
        if mention is not None:
            dates.append(mention)
    return dates


def _resolve(
    kind: str, match: re.Match[str], words: str, start: int, published: date | None
) -> MentionedDate | None:
    """The mention of one match; None when the match is not a real date (day 45)."""
    groups = {k: v for k, v in match.groupdict().items() if v is not None}
    make = _Maker(words, start, start + len(words))
    try:
        if kind in ("iso", "month_day", "day_month"):
            month = _month(groups["month"])
            day = int(groups["day"])
            if "year" in groups:
                return make.day(date(int(groups["year"]), month, day))
            date(2000, month, day)  # raises for impossible days
            if published is None:
                return make.unresolved("day")
            return make.day(_nearest_year(published, month, day))
        if kind == "month_year":
            return make.month(int(groups["year"]), _month(groups["month"]))
        if kind == "month":
            return _month_alone(make, _month(groups["month"]), groups.get("which"), published)
        if kind == "year":
            year = int(groups["year"])
            return make.span("year", date(year, 1, 1), date(year, 12, 31))
        if kind == "decade":
            decade = int(groups["decade"])
            return make.span("decade", date(decade, 1, 1), date(decade + 9, 12, 31))
    except ValueError:
        return None
    if published is not None:
        try:
            return _relative(kind, match, groups, make, published)
        except (ValueError, OverflowError):  # "2500 years ago": before year 1
            pass
    granularity = {"weekday": "day", "ago": groups.get("unit", "day"), "relative_day": "day",
                   "part_of_period": "period", "period": groups.get("unit", "period")}[kind]
    return make.unresolved(granularity)


def _relative(
    kind: str, match: re.Match[str], groups: dict[str, str], make: "_Maker", published: date
) -> MentionedDate:
    """The mention of a date relative to the publication day ("last week", "on Friday").

    Raises:
        ValueError, OverflowError: the date falls outside the calendar (years 1 to 9999).
    """
    words, start = make.text, make.start
    if kind == "weekday":
        return make.day(_weekday(published, groups, _sentence(match.string, start)))
    if kind == "ago":
        count = int(groups["count"]) if groups["count"].isdigit() else NUMBER_WORDS[
            groups["count"].lower()]
        return _ago(make, published, count, groups["unit"].lower())
    if kind == "relative_day":
        return make.day(published + timedelta(days=_RELATIVE_DAYS[groups["word"].lower()]))
    if kind == "part_of_period":
        first, last = _period(published, groups["unit"].lower(), 0)
        if words.lower().startswith("earlier"):
            return make.span("period", first, published)
        return make.span("period", published, last)
    offset = {"last": -1, "past": -1, "this": 0, "next": 1, "coming": 1}[groups["which"].lower()]
    first, last = _period(published, groups["unit"].lower(), offset)
    return make.span(groups["unit"].lower(), first, last)


_RELATIVE_DAYS = {
    "the day before yesterday": -2, "yesterday": -1, "last night": -1, "today": 0,
    "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0, "tomorrow": 1,
    "the day after tomorrow": 2,
}


@dataclass(frozen=True)
class _Maker:
    """Builds the mentions of one match."""

    text: str
    start: int
    end: int

    def day(self, day: date) -> MentionedDate:
        return MentionedDate(self.text, self.start, self.end, "day", day, day)

    def span(self, granularity: str, first: date, last: date) -> MentionedDate:
        return MentionedDate(self.text, self.start, self.end, granularity, first, last)

    def month(self, year: int, month: int) -> MentionedDate:
        last = calendar.monthrange(year, month)[1]
        return self.span("month", date(year, month, 1), date(year, month, last))

    def unresolved(self, granularity: str) -> MentionedDate:
        return MentionedDate(self.text, self.start, self.end, granularity)


def _month(name: str) -> int:
    """A month number from its name, abbreviation or two digits."""
    if name.isdigit():
        number = int(name)
        if not 1 <= number <= 12:
            raise ValueError(name)
        return number
    return MONTHS[name.lower().rstrip(".")]


def _nearest_year(published: date, month: int, day: int) -> date:
    """The day and month in the year that puts it closest to the publication day."""
    candidates = []
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:  # 29 February
            continue
    return min(candidates, key=lambda d: abs((d - published).days))


def _month_alone(
    make: _Maker, month: int, which: str | None, published: date | None
) -> MentionedDate:
    """A month named without a year: the nearest one, or the last/next one."""
    if published is None:
        return make.unresolved("month")
    which = (which or "").lower()
    year = published.year
    if which == "last":
        year -= 1 if month >= published.month else 0
    elif which == "next":
        year += 1 if month <= published.month else 0
    elif which != "this":
        year = _nearest_year(published, month, 1).year if month != published.month else year
    return make.month(year, month)


def _weekday(published: date, groups: dict[str, str], sentence: str) -> date:
    """The weekday meant: the last one on or before publication, the next if future."""
    target = WEEKDAYS[groups["weekday"].lower()]
    which = groups.get("which", "").lower()
    back = (published.weekday() - target) % 7
    ahead = (target - published.weekday()) % 7
    if which in ("last", "past"):
        return published - timedelta(days=back or 7)
    if which in ("next", "coming"):
        return published + timedelta(days=ahead or 7)
    if which == "this" or FUTURE.search(sentence):
        return published + timedelta(days=ahead)
    return published - timedelta(days=back)


def _sentence(text: str, position: int) -> str:
    """The sentence around a position (for tense cues)."""
    start = max(text.rfind(". ", 0, position), text.rfind("\n", 0, position)) + 1
    ends = [i for i in (text.find(". ", position), text.find("\n", position)) if i >= 0]
    return text[start : min(ends) if ends else len(text)]


def _ago(make: _Maker, published: date, count: int, unit: str) -> MentionedDate:
    """"Three days ago", "a year ago": the day, or the week/month/year it falls in."""
    if unit == "day":
        return make.day(published - timedelta(days=count))
    first, last = _period(published, unit, -count)
    return make.span(unit, first, last)


def _period(published: date, unit: str, offset: int) -> tuple[date, date]:
    """The first and last day of the week, month or year ``offset`` periods from publication."""
    if unit == "week":
        monday = published - timedelta(days=published.weekday()) + timedelta(weeks=offset)
        return monday, monday + timedelta(days=6)
    if unit == "month":
        index = published.year * 12 + published.month - 1 + offset
        year, month = divmod(index, 12)
        return date(year, month + 1, 1), date(year, month + 1,
                                              calendar.monthrange(year, month + 1)[1])
    year = published.year + offset
    return date(year, 1, 1), date(year, 12, 31)
