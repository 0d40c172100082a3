"""RDS's backup and maintenance windows: their formats and the rule that they never overlap.

The constraints are CreateDBInstance's, as botocore's rds model documents them
(PreferredBackupWindow, PreferredMaintenanceWindow): the backup window is a daily
`hh24:mi-hh24:mi`, the maintenance window a weekly `ddd:hh24:mi-ddd:hh24:mi` with days
mon..sun, both in UTC, each at least 30 minutes, and neither may conflict with the
other. A window may run past midnight (`23:45-00:15`, `sun:23:30-mon:00:30`).
"""

from __future__ import annotations

import re
from typing import Final

MINUTES_PER_DAY: Final = 24 * 60
MINUTES_PER_WEEK: Final = 7 * MINUTES_PER_DAY
MINIMUM_MINUTES: Final = 30
DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"([01]\d|2[0-3]):([0-5]\d)"
_BACKUP: Final = re.compile(rf"^{_TIME}-{_TIME}$")
_MAINTENANCE: Final = re.compile(rf"^({'|'.join(DAYS)}):{_TIME}-({'|'.join(DAYS)}):{_TIME}$")

# A span of minutes on the week's clock: [start, start + length), mon 00:00 = 0.
Span = tuple[int, int]


def _length(start: int, end: int, period: int) -> int:
    return (end - start) % period


def backup_span(window: str) -> Span:
    """The daily backup window as (start minute of the day, length); ValueError if malformed."""
    match = _BACKUP.match(window)
    if not match:
        raise ValueError("not a daily window hh24:mi-hh24:mi in UTC like 01:00-01:30")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    length = _length(start, end, MINUTES_PER_DAY)
    if length < MINIMUM_MINUTES:
        raise ValueError(f"a window of {length} minutes; RDS needs at least {MINIMUM_MINUTES}")
    return start, length


def maintenance_span(window: str) -> Span:
    """The weekly maintenance window as (start minute of the week, length)."""
    match = _MAINTENANCE.match(window.lower())
    if not match or window != window.lower():
        raise ValueError(
            "not a weekly window ddd:hh24:mi-ddd:hh24:mi in UTC with days mon..sun, "
            "like tue:03:00-tue:03:30"
        )
    d1, h1, m1, d2, h2, m2 = match.groups()
    start = DAYS.index(d1) * MINUTES_PER_DAY + int(h1) * 60 + int(m1)
    end = DAYS.index(d2) * MINUTES_PER_DAY + int(h2) * 60 + int(m2)
    length = _length(start, end, MINUTES_PER_WEEK)
    if length < MINIMUM_MINUTES:
        raise ValueError(f"a window of {length} minutes; RDS needs at least {MINIMUM_MINUTES}")
    return start, length


def _overlap(a: Span, b: Span, period: int) -> bool:
    """Whether two spans on a circular clock of `period` minutes share a minute."""
    return (b[0] - a[0]) % period < a[1] or (a[0] - b[0]) % period < b[1]


def overlaps(backup_window: str, maintenance_window: str) -> bool:
    """Whether the daily backup window meets the weekly maintenance window on any day."""
    daily = backup_span(backup_window)
    weekly = maintenance_span(maintenance_window)
    return any(
        _overlap((day * MINUTES_PER_DAY + daily[0], daily[1]), weekly, MINUTES_PER_WEEK)
        for day in range(7)
    )


def daily_overlap(first: str, second: str) -> bool:
    """Whether two daily windows (`hh24:mi-hh24:mi`, UTC) share a minute."""
    return _overlap(backup_span(first), backup_span(second), MINUTES_PER_DAY)
