"""Points in time for the ledger: ``--since 7d``, ``--before 2026-11-01``, and the day and
month that spending caps count.

Days, weeks and months are the local calendar's (the ``TZ`` environment variable applies),
except the caps' when ``budget_timezone`` names a zone (a team's one clock, e.g. ``UTC``);
the ledger stores UTC timestamps as ISO-8601 text, which sorts as time.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as day_time

from think.errors import UsageError

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def iso(moment: datetime) -> str:
    """``moment`` as the ledger stores time: UTC, milliseconds, ``Z``."""
    utc = moment.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def local_moment(stamp: str) -> datetime:
    """A timestamp the ledger stored (:func:`iso`), in local time."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone()


def local_time_of(moment: datetime) -> str:
    """``2026-11-01 09:30`` in local time (seconds when there are any)."""
    local = moment.astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")


def local_midnight(day: date) -> datetime:
    """The start of a local calendar day, as an aware UTC datetime (DST-safe)."""
    return datetime.fromtimestamp(time.mktime(day.timetuple()), UTC)


def budget_zone(name: str) -> tzinfo:
    """The time zone ``name`` (``UTC``, ``Europe/Berlin``); ValueError for an unknown one."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone; use e.g. UTC or Europe/Berlin (IANA names)"
        ) from None


def zone_label(name: str | None, now: datetime) -> str:
    """The zone a cap's days and months are counted in, as the ledger records it: the
    ``budget_timezone`` name, else local time with its abbreviation and offset at ``now``
    (``local (CET, UTC+01:00)``)."""
    if name is not None:
        return name
    local = now.astimezone()
    return f"local ({local.tzname()}, UTC{local.isoformat(timespec='seconds')[-6:]})"


def _midnight(day: date, zone: tzinfo | None) -> datetime:
    if zone is None:
        return local_midnight(day)
    return datetime.combine(day, day_time(), zone).astimezone(UTC)


def day_start(now: datetime, zone: tzinfo | None = None) -> datetime:
    """The start of ``now``'s day in ``zone`` (None: local time), in UTC."""
    return _midnight(now.astimezone(zone).date(), zone)


def month_start(now: datetime, zone: tzinfo | None = None) -> datetime:
    """The start of ``now``'s month in ``zone`` (None: local time), in UTC."""
    return _midnight(now.astimezone(zone).date().replace(day=1), zone)


def parse_when(text: str, option: str, now: datetime | None = None) -> datetime:
    """A moment from ``7d`` / ``12h`` / ``30m`` / ``2w`` (that long ago), ``today``, a local
    date ``2026-11-01`` (its midnight) or an ISO timestamp (local unless it has an offset).
    One beyond the calendar (``99999999d``: before the year 1) is a usage error saying what
    is accepted."""
    now = now or datetime.now(UTC)
    try:
        return _parse_when(text, option, now)
    except OverflowError:
        earliest = datetime(1, 1, 2, tzinfo=UTC)
        raise UsageError(
            f"{option}: {text!r} is out of range: a duration reaches back at most "
            f"{(now - earliest).days}d (to the year 1), a date lies in 0001-01-02..9999-12-30"
        ) from None


def _parse_when(text: str, option: str, now: datetime) -> datetime:
    spec = text.strip().lower()
    length = _duration(spec)
    if length is not None:
        return now - length
    if spec == "today":
        return day_start(now)
    try:
        if len(spec) == 10:
            return local_midnight(date.fromisoformat(spec))
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option}: {text!r} is not a time; use a duration (30m, 12h, 7d, 2w), "
            "today, a date (2026-11-01) or a timestamp (2026-11-01T09:30)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # naive: local time
    return moment.astimezone(UTC)


def _duration(spec: str) -> timedelta | None:
    """``30m`` / ``12h`` / ``7d`` / ``2w`` (lower case, stripped) as a length; None: not one.
    A length beyond ``timedelta`` raises OverflowError."""
    match = _DURATION.fullmatch(spec)
    if not match:
        return None
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_duration(text: str, option: str) -> timedelta:
    """A length of time written ``30m`` / ``12h`` / ``7d`` / ``2w``."""
    try:
        length = _duration(text.strip().lower())
    except OverflowError:
        raise UsageError(f"{option}: {text!r} is out of range") from None
    if length is None:
        raise UsageError(f"{option}: {text!r} is not a duration; use e.g. 30m, 12h, 7d or 2w")
    return length
