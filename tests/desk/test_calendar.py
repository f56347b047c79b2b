"""Working days and deadlines, with Iran's Thursday-Friday and Friday-only weekends and holidays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.calendar import WEEKDAYS, WorkCalendar

# 2026-03-18 is a Wednesday. Nowruz holidays 1405: 1-4 Farvardin = 2026-03-21..24.
WED = date(2026, 3, 18)
THU, FRI, SAT = WED + timedelta(1), WED + timedelta(2), WED + timedelta(3)
NOWRUZ = frozenset(date(2026, 3, 21) + timedelta(i) for i in range(4))
THU_FRI = WorkCalendar(frozenset({WEEKDAYS["thursday"], WEEKDAYS["friday"]}))
FRIDAY_ONLY = WorkCalendar()
WITH_NOWRUZ = WorkCalendar(THU_FRI.weekend, NOWRUZ)

calendars = st.builds(
    WorkCalendar,
    st.frozensets(st.integers(0, 6), max_size=3),
    st.frozensets(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)), max_size=20),
)
days = st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 1, 31))


class TestWorkingDays:
    def test_default_weekend_is_friday(self) -> None:
        assert not FRIDAY_ONLY.is_working_day(FRI)
        assert FRIDAY_ONLY.is_working_day(THU)

    def test_thursday_friday_weekend(self) -> None:
        assert THU_FRI.is_working_day(WED)
        assert not THU_FRI.is_working_day(THU)
        assert not THU_FRI.is_working_day(FRI)
        assert THU_FRI.is_working_day(SAT)

    def test_holidays(self) -> None:
        assert not WITH_NOWRUZ.is_working_day(SAT)
        assert WITH_NOWRUZ.is_working_day(date(2026, 3, 25))

    def test_from_catalog_names(self) -> None:
        cal = WorkCalendar.from_names(["Thursday", "friday"], [date(2026, 3, 21)])
        assert cal.weekend == {3, 4}
        assert cal.holidays == {date(2026, 3, 21)}

    def test_unknown_weekday_name_is_refused(self) -> None:
        with pytest.raises(ValueError, match="jomeh"):
            WorkCalendar.from_names(["jomeh"])

    def test_a_week_without_working_days_is_refused(self) -> None:
        with pytest.raises(ValueError, match="at least one working weekday"):
            WorkCalendar(frozenset(range(7)))
        with pytest.raises(ValueError, match=r"0\.\.6"):
            WorkCalendar(frozenset({7}))


class TestDeadlines:
    def test_counting_starts_the_next_working_day(self) -> None:
        assert THU_FRI.add_working_days(WED, 1) == SAT
        assert FRIDAY_ONLY.add_working_days(WED, 1) == THU

    def test_zero_days_is_the_same_working_day(self) -> None:
        assert THU_FRI.add_working_days(WED, 0) == WED

    def test_zero_days_from_a_weekend_is_the_next_working_day(self) -> None:
        assert THU_FRI.add_working_days(THU, 0) == SAT

    def test_filed_on_a_weekend(self) -> None:
        assert THU_FRI.add_working_days(FRI, 1) == SAT

    def test_nowruz_pushes_the_deadline(self) -> None:
        # Filed Wednesday before Nowruz; Thu/Fri weekend, Sat-Tue holidays: day 1 is Wednesday 25 March.
        assert WITH_NOWRUZ.add_working_days(WED, 1) == date(2026, 3, 25)
        assert WITH_NOWRUZ.add_working_days(WED, 3) == date(2026, 3, 29)

    def test_negative_days_are_refused(self) -> None:
        with pytest.raises(ValueError, match=">= 0"):
            THU_FRI.add_working_days(WED, -1)

    @given(calendars, days, st.integers(0, 60))
    def test_deadline_is_a_working_day(self, cal: WorkCalendar, start: date, n: int) -> None:
        deadline = cal.add_working_days(start, n)
        assert cal.is_working_day(deadline)
        assert deadline >= start

    @given(calendars, days, st.integers(1, 60))
    def test_between_undoes_add(self, cal: WorkCalendar, start: date, n: int) -> None:
        assert cal.working_days_between(start, cal.add_working_days(start, n)) == n

    @given(calendars, days, st.integers(0, 59))
    def test_more_days_never_give_an_earlier_deadline(self, cal: WorkCalendar, start: date, n: int) -> None:
        assert cal.add_working_days(start, n) <= cal.add_working_days(start, n + 1)


class TestBetween:
    def test_same_day_is_zero(self) -> None:
        assert THU_FRI.working_days_between(WED, WED) == 0

    def test_over_a_weekend(self) -> None:
        assert THU_FRI.working_days_between(WED, SAT) == 1
        assert THU_FRI.working_days_between(SAT, WED) == -1

    def test_a_full_week(self) -> None:
        assert THU_FRI.working_days_between(WED, WED + timedelta(7)) == 5
        assert WITH_NOWRUZ.working_days_between(WED, WED + timedelta(7)) == 1

    @given(calendars, days, days)
    def test_matches_counting_day_by_day(self, cal: WorkCalendar, a: date, b: date) -> None:
        lo, hi = min(a, b), max(a, b)
        naive = sum(1 for i in range(1, (hi - lo).days + 1) if cal.is_working_day(lo + timedelta(i)))
        assert cal.working_days_between(a, b) == (naive if a <= b else -naive)
