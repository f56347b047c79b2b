"""The request lifecycle: who may move a request where, and when a reason is owed to the citizen."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.errors import TransitionError
from desk.i18n import translator
from desk.lifecycle import (
    TRANSITIONS,
    Actor,
    Status,
    allowed_targets,
    check_transition,
    is_final,
    is_open,
    is_public,
    waits_for_citizen,
)

S, A = Status, Actor
REASON = "مدرک مالکیت ناخواناست"


def key_of(current: Status, target: Status, actor: Actor, reason: str | None = REASON) -> str:
    with pytest.raises(TransitionError) as info:
        check_transition(current, target, actor, reason)
    return info.value.key


class TestCitizen:
    def test_submits_a_draft(self) -> None:
        check_transition(S.DRAFT, S.SUBMITTED, A.CITIZEN, None)

    @pytest.mark.parametrize(
        "current", [S.SUBMITTED, S.IN_PROGRESS, S.NEEDS_INFO, S.WAITING_EXTERNAL, S.AWAITING_PAYMENT]
    )
    def test_may_withdraw_an_open_request_without_a_reason(self, current: Status) -> None:
        check_transition(current, S.WITHDRAWN, A.CITIZEN, None)

    def test_answering_puts_the_request_back_in_progress(self) -> None:
        check_transition(S.NEEDS_INFO, S.IN_PROGRESS, A.CITIZEN, None)

    def test_cannot_complete_or_reject_their_own_request(self) -> None:
        assert key_of(S.IN_PROGRESS, S.COMPLETED, A.CITIZEN) == "desk.transition.not_permitted"
        assert key_of(S.IN_PROGRESS, S.REJECTED, A.CITIZEN) == "desk.transition.not_permitted"

    def test_cannot_withdraw_a_finished_request(self) -> None:
        assert key_of(S.COMPLETED, S.WITHDRAWN, A.CITIZEN) == "desk.transition.closed"

    def test_cannot_pretend_to_have_paid(self) -> None:
        assert key_of(S.AWAITING_PAYMENT, S.IN_PROGRESS, A.CITIZEN) == "desk.transition.not_permitted"


class TestClerk:
    def test_claims_a_submitted_request(self) -> None:
        check_transition(S.SUBMITTED, S.IN_PROGRESS, A.CLERK, None)

    @pytest.mark.parametrize(
        "target", [S.NEEDS_INFO, S.WAITING_EXTERNAL, S.AWAITING_PAYMENT, S.COMPLETED, S.REJECTED]
    )
    def test_moves_work_in_progress_on(self, target: Status) -> None:
        check_transition(S.IN_PROGRESS, target, A.CLERK, REASON)

    @pytest.mark.parametrize("current", [S.WAITING_EXTERNAL, S.AWAITING_PAYMENT, S.NEEDS_INFO])
    def test_resumes_work(self, current: Status) -> None:
        check_transition(current, S.IN_PROGRESS, A.CLERK, None)

    @pytest.mark.parametrize("target", [S.REJECTED, S.NEEDS_INFO, S.WAITING_EXTERNAL])
    @pytest.mark.parametrize("reason", [None, "", "   \n"])
    def test_a_reason_is_owed_to_the_citizen(self, target: Status, reason: str | None) -> None:
        assert key_of(S.IN_PROGRESS, target, A.CLERK, reason) == "desk.transition.reason_required"

    def test_completing_needs_no_reason(self) -> None:
        check_transition(S.IN_PROGRESS, S.COMPLETED, A.CLERK, None)

    def test_cannot_reopen_a_rejected_request(self) -> None:
        assert key_of(S.REJECTED, S.IN_PROGRESS, A.CLERK) == "desk.transition.not_permitted"

    def test_cannot_submit_or_withdraw_for_the_citizen(self) -> None:
        assert key_of(S.DRAFT, S.SUBMITTED, A.CLERK) == "desk.transition.not_permitted"
        assert key_of(S.IN_PROGRESS, S.WITHDRAWN, A.CLERK) == "desk.transition.not_permitted"

    def test_cannot_complete_without_working_on_it(self) -> None:
        assert key_of(S.SUBMITTED, S.COMPLETED, A.CLERK) == "desk.transition.not_allowed"


class TestSupervisorAndSystem:
    def test_supervisor_may_do_whatever_a_clerk_may(self) -> None:
        for status in Status:
            assert allowed_targets(status, A.CLERK) <= allowed_targets(status, A.SUPERVISOR)

    def test_supervisor_reopens_a_rejected_request(self) -> None:
        check_transition(S.REJECTED, S.IN_PROGRESS, A.SUPERVISOR, None)

    def test_completed_and_withdrawn_stay_closed_even_for_a_supervisor(self) -> None:
        assert key_of(S.COMPLETED, S.IN_PROGRESS, A.SUPERVISOR) == "desk.transition.closed"
        assert key_of(S.WITHDRAWN, S.IN_PROGRESS, A.SUPERVISOR) == "desk.transition.closed"

    def test_payment_resumes_the_work(self) -> None:
        check_transition(S.AWAITING_PAYMENT, S.IN_PROGRESS, A.SYSTEM, None)
        assert allowed_targets(S.AWAITING_PAYMENT, A.SYSTEM) == {S.IN_PROGRESS}

    def test_system_does_nothing_else(self) -> None:
        assert key_of(S.IN_PROGRESS, S.COMPLETED, A.SYSTEM) == "desk.transition.not_permitted"


class TestTable:
    def test_staying_in_the_same_status_is_refused(self) -> None:
        for status, actor in itertools.product(Status, Actor):
            assert key_of(status, status, actor) == "desk.transition.unchanged"

    def test_nothing_moves_back_to_draft(self) -> None:
        for status, actor in itertools.product(Status, Actor):
            assert S.DRAFT not in allowed_targets(status, actor)

    def test_every_status_but_draft_is_reachable_from_draft(self) -> None:
        reached, frontier = {S.DRAFT}, [S.DRAFT]
        while frontier:
            current = frontier.pop()
            for actor in Actor:
                for target in allowed_targets(current, actor) - reached:
                    reached.add(target)
                    frontier.append(target)
        assert reached == set(Status)

    def test_completed_and_withdrawn_are_dead_ends(self) -> None:
        for actor in Actor:
            assert not allowed_targets(S.COMPLETED, actor)
            assert not allowed_targets(S.WITHDRAWN, actor)

    @given(st.sampled_from(Status), st.sampled_from(Status), st.sampled_from(Actor))
    def test_check_agrees_with_allowed_targets(self, current: Status, target: Status, actor: Actor) -> None:
        allowed = target in allowed_targets(current, actor)
        try:
            check_transition(current, target, actor, REASON)
        except TransitionError:
            assert not allowed
        else:
            assert allowed

    def test_every_actor_has_a_table(self) -> None:
        assert set(TRANSITIONS) == set(Actor)


class TestPredicates:
    def test_final_and_open(self) -> None:
        assert {s for s in Status if is_final(s)} == {S.COMPLETED, S.REJECTED, S.WITHDRAWN}
        assert {s for s in Status if is_open(s)} == {
            S.SUBMITTED, S.IN_PROGRESS, S.NEEDS_INFO, S.WAITING_EXTERNAL, S.AWAITING_PAYMENT,
        }  # fmt: skip
        assert not is_open(S.DRAFT)
        assert not is_final(S.DRAFT)

    def test_only_drafts_are_private(self) -> None:
        assert [s for s in Status if not is_public(s)] == [S.DRAFT]

    def test_waiting_for_the_citizen(self) -> None:
        assert {s for s in Status if waits_for_citizen(s)} == {S.NEEDS_INFO, S.AWAITING_PAYMENT}


class TestLabels:
    @pytest.mark.parametrize("lang", ["fa", "en"])
    def test_every_status_and_actor_has_a_label(self, lang: str) -> None:
        t = translator(lang)
        for item in [*Status, *Actor]:
            label = t(item.label_key)
            assert label != item.label_key
            assert item.value not in label

    def test_error_message_names_statuses_in_persian(self) -> None:
        with pytest.raises(TransitionError) as info:
            check_transition(S.COMPLETED, S.IN_PROGRESS, A.CLERK, None)
        text = info.value.render("fa")
        assert "انجام‌شده" in text
        assert "completed" not in text

    def test_reason_message_names_the_target(self) -> None:
        with pytest.raises(TransitionError) as info:
            check_transition(S.IN_PROGRESS, S.REJECTED, A.CLERK, None)
        assert "ردشده" in info.value.render("fa")
        assert "Rejected" in info.value.render("en")
