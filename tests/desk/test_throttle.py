"""The throttle: a citizen who keeps guessing is slowed down, one who mistypes once is not, and memory stays small."""

from __future__ import annotations

import pytest

from desk.errors import Throttled
from desk.throttle import TRACK_FAILURE_LIMIT, TRACK_WINDOW_SECONDS, Throttle, tracking_throttle


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_the_limit_th_failure_blocks_the_key_and_only_that_key(clock: FakeClock) -> None:
    throttle = Throttle(3, 60, clock)
    for _ in range(2):
        throttle.fail("bale:1")
        throttle.check("bale:1")  # still allowed
    throttle.fail("bale:1")

    with pytest.raises(Throttled) as caught:
        throttle.check("bale:1")
    assert caught.value.key == "desk.throttled"
    throttle.check("telegram:1")  # someone else is not affected


def test_the_window_slides_failures_age_out_one_by_one(clock: FakeClock) -> None:
    throttle = Throttle(3, 60, clock)
    throttle.fail("k")  # t=0
    clock.advance(20)
    throttle.fail("k")  # t=20
    clock.advance(20)
    throttle.fail("k")  # t=40
    with pytest.raises(Throttled) as caught:
        throttle.check("k")
    assert caught.value.params["seconds"] == 20  # until the t=0 failure is 60 s old

    clock.advance(20)  # t=60: the first failure left the window
    throttle.check("k")
    assert throttle.failures("k") == 2
    throttle.fail("k")  # three within the window again
    with pytest.raises(Throttled):
        throttle.check("k")


def test_a_failure_just_inside_the_window_still_counts(clock: FakeClock) -> None:
    throttle = Throttle(1, 60, clock)
    throttle.fail("k")
    clock.advance(59.5)
    with pytest.raises(Throttled) as caught:
        throttle.check("k")
    assert caught.value.params == {"seconds": 1, "minutes": 1}


def test_reset_lifts_a_block(clock: FakeClock) -> None:
    throttle = Throttle(1, 60, clock)
    throttle.fail("k")
    throttle.reset("k")
    throttle.check("k")
    assert throttle.failures("k") == 0


def test_keys_whose_failures_left_the_window_are_forgotten(clock: FakeClock) -> None:
    throttle = Throttle(2, 60, clock)
    for user in range(1_000):
        throttle.fail(f"bale:{user}")
    assert len(throttle) == 1_000
    clock.advance(61)
    throttle.fail("bale:late")
    assert len(throttle) == 1


def test_memory_is_capped_by_forgetting_the_key_that_failed_longest_ago(clock: FakeClock) -> None:
    throttle = Throttle(1, 600, clock, max_keys=3)
    for key in ["a", "b", "c", "d"]:
        throttle.fail(key)
        clock.advance(1)
    assert len(throttle) == 3
    throttle.check("a")  # forgotten
    with pytest.raises(Throttled):
        throttle.check("d")


def test_the_tracking_throttle_allows_five_wrong_tries_per_ten_minutes(clock: FakeClock) -> None:
    throttle = tracking_throttle(clock)
    assert (TRACK_FAILURE_LIMIT, TRACK_WINDOW_SECONDS) == (5, 600)
    for _ in range(5):
        throttle.check("telegram:7")
        throttle.fail("telegram:7")
    with pytest.raises(Throttled) as caught:
        throttle.check("telegram:7")

    assert caught.value.key == "desk.track.throttled"
    assert caught.value.params == {"seconds": 600, "minutes": 10}
    assert "۱۰ دقیقه" in caught.value.render("fa")
    assert "10 minutes" in caught.value.render("en")
    clock.advance(600)
    throttle.check("telegram:7")


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (3, 0)])
def test_a_throttle_that_could_never_allow_or_never_forget_is_refused(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        Throttle(limit, window)
