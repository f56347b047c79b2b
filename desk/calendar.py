"""Working days and deadlines: a service's duration is counted in working days of its organization.

Iran's weekend is Friday, and many offices close on Thursday too; official holidays follow the
Jalali calendar and change every year. The catalog gives both per county and per organization,
and ``WorkCalendar`` turns them into deadlines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

__all__ = ["WEEKDAYS", "WorkCalendar"]

WEEKDAYS: Final[Mapping[str, int]] = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
"""The catalog's weekday names and Python's ``date.weekday()`` numbers (Monday is 0, Friday is 4)."""

_ONE_DAY: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """The working days of an organization: every day except the ``weekend`` weekdays and the ``holidays``."""

    weekend: frozenset[int] = frozenset({WEEKDAYS["friday"]})
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.weekend <= set(range(7)):
            raise ValueError(f"weekend days must be 0..6, got {sorted(self.weekend)}")
        if len(self.weekend) == 7:
            raise ValueError("a calendar needs at least one working weekday")

    @classmethod
    def from_names(cls, weekend: Iterable[str], holidays: Iterable[date] = ()) -> WorkCalendar:
        """A calendar from the catalog's weekday names ('thursday', 'friday') and holiday dates.

        Raises ``ValueError`` naming an unknown weekday.
        """
        unknown = [name for name in weekend if name.lower() not in WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown weekday names: {unknown}")
        return cls(frozenset(WEEKDAYS[name.lower()] for name in weekend), frozenset(holidays))

    def is_working_day(self, d: date) -> bool:
        """Whether offices are open on ``d``."""
        return d.weekday() not in self.weekend and d not in self.holidays

    def next_working_day(self, d: date) -> date:
        """The first working day on or after ``d``."""
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def add_working_days(self, start: date, days: int) -> date:
        """The deadline of a ``days``-working-day duration filed on ``start``.

        Counting starts on the next working day after ``start``: 1 day from a Wednesday with a
        Thursday-Friday weekend is the Saturday. 0 days is ``start`` itself if it is a working day,
        else the next working day.
        """
        if days < 0:
            raise ValueError("days must be >= 0")
        d = self.next_working_day(start)
        if days == 0:
            return d
        d = start
        for _ in range(days):
            d = self.next_working_day(d + _ONE_DAY)
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b`` (negative when ``b`` is before ``a``).

        It undoes ``add_working_days``: ``working_days_between(s, add_working_days(s, n)) == n`` for
        ``n >= 1``; so ``working_days_between(deadline, today)`` is how many working days a request is late.
        """
        if b < a:
            return -self.working_days_between(b, a)
        span = (b - a).days
        weeks, rest = divmod(span, 7)
        count = weeks * (7 - len(self.weekend))
        count += sum(1 for i in range(1, rest + 1) if (a + timedelta(days=i)).weekday() not in self.weekend)
        count -= sum(1 for h in self.holidays if a < h <= b and h.weekday() not in self.weekend)
        return count
