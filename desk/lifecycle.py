"""The request lifecycle as a pure state machine: statuses, actors, and who may move what where.

::

    draft -> submitted -> in_progress <-> needs_info | waiting_external | awaiting_payment
                                      -> completed | rejected            (any open one) -> withdrawn

Handlers never decide transitions: they call ``check_transition`` and the store records the event
(actor, time, reason) only when it passes. A citizen deserves a reason when a request is rejected,
sent back for more information, or waits for another agency, so those transitions need one.
Every status and actor has a locale label (``desk.status.<name>``, ``desk.actor.<name>``): people
never see raw enum values.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from desk.errors import TransitionError

__all__ = [
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "REASON_REQUIRED",
    "TRANSITIONS",
    "Actor",
    "Status",
    "allowed_targets",
    "check_transition",
    "is_final",
    "is_open",
    "is_public",
    "waits_for_citizen",
]


class Status(StrEnum):
    """Where a request stands. Values are stored in the database: never rename one."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_PROGRESS = "in_progress"
    NEEDS_INFO = "needs_info"
    WAITING_EXTERNAL = "waiting_external"
    AWAITING_PAYMENT = "awaiting_payment"
    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label_key(self) -> str:
        """The locale msgid of this status's name as people read it."""
        return f"desk.status.{self.value}"


class Actor(StrEnum):
    """Who makes a change: the citizen, a clerk, a supervisor, or Miz itself (a payment, a timer)."""

    CITIZEN = "citizen"
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    SYSTEM = "system"

    @property
    def label_key(self) -> str:
        """The locale msgid of this actor as shown in a request's history."""
        return f"desk.actor.{self.value}"


S = Status

FINAL_STATUSES: Final = frozenset({S.COMPLETED, S.REJECTED, S.WITHDRAWN})
"""No one works on these any more (only a supervisor may reopen a rejected request)."""
OPEN_STATUSES: Final = frozenset(
    {S.SUBMITTED, S.IN_PROGRESS, S.NEEDS_INFO, S.WAITING_EXTERNAL, S.AWAITING_PAYMENT}
)
"""Filed and not yet finished: these count in the organization's queue and against deadlines."""
REASON_REQUIRED: Final = frozenset({S.REJECTED, S.NEEDS_INFO, S.WAITING_EXTERNAL})
"""Moving here needs a reason the citizen will read."""

_CITIZEN: Final[dict[Status, frozenset[Status]]] = {
    S.DRAFT: frozenset({S.SUBMITTED}),
    # Answering a request for information puts the request back in the clerk's hands.
    S.NEEDS_INFO: frozenset({S.IN_PROGRESS, S.WITHDRAWN}),
    # A citizen may give up a request at any open stage (including before paying).
    S.SUBMITTED: frozenset({S.WITHDRAWN}),
    S.IN_PROGRESS: frozenset({S.WITHDRAWN}),
    S.WAITING_EXTERNAL: frozenset({S.WITHDRAWN}),
    S.AWAITING_PAYMENT: frozenset({S.WITHDRAWN}),
}
_CLERK: Final[dict[Status, frozenset[Status]]] = {
    # A request plainly outside the organization's remit may be rejected without claiming it.
    S.SUBMITTED: frozenset({S.IN_PROGRESS, S.REJECTED}),
    S.IN_PROGRESS: frozenset({S.NEEDS_INFO, S.WAITING_EXTERNAL, S.AWAITING_PAYMENT, S.COMPLETED, S.REJECTED}),
    # The citizen may answer at the counter or by phone; the clerk then resumes the work.
    S.NEEDS_INFO: frozenset({S.IN_PROGRESS}),
    S.WAITING_EXTERNAL: frozenset({S.IN_PROGRESS}),
    S.AWAITING_PAYMENT: frozenset({S.IN_PROGRESS}),
}
_SUPERVISOR: Final[dict[Status, frozenset[Status]]] = {
    **_CLERK,
    S.REJECTED: frozenset({S.IN_PROGRESS}),
}
_SYSTEM: Final[dict[Status, frozenset[Status]]] = {
    # A confirmed payment resumes the work, and so does the last answer of the agencies asked.
    S.AWAITING_PAYMENT: frozenset({S.IN_PROGRESS}),
    S.WAITING_EXTERNAL: frozenset({S.IN_PROGRESS}),
}

TRANSITIONS: Final[Mapping[Actor, Mapping[Status, frozenset[Status]]]] = {
    Actor.CITIZEN: _CITIZEN,
    Actor.CLERK: _CLERK,
    Actor.SUPERVISOR: _SUPERVISOR,
    Actor.SYSTEM: _SYSTEM,
}
"""For each actor, from each status, the statuses it may move a request to."""


def allowed_targets(status: Status, actor: Actor) -> frozenset[Status]:
    """The statuses ``actor`` may move a request in ``status`` to (for building a clerk's buttons)."""
    return TRANSITIONS[actor].get(status, frozenset())


def check_transition(current: Status, target: Status, actor: Actor, reason: str | None = None) -> None:
    """Raise ``TransitionError`` unless ``actor`` may move a request from ``current`` to ``target`` now.

    Keys: ``desk.transition.unchanged`` (already there), ``desk.transition.closed`` (finished request),
    ``desk.transition.not_permitted`` (someone else may, not this actor), ``desk.transition.not_allowed``
    (no one may), ``desk.transition.reason_required`` (rejected/needs_info/waiting_external need a reason).
    """
    if current == target:
        raise TransitionError("desk.transition.unchanged", status=current)
    if target not in allowed_targets(current, actor):
        if any(target in allowed_targets(current, other) for other in Actor):
            raise TransitionError("desk.transition.not_permitted", current=current, target=target)
        if is_final(current):
            raise TransitionError("desk.transition.closed", status=current)
        raise TransitionError("desk.transition.not_allowed", current=current, target=target)
    if target in REASON_REQUIRED and not (reason and reason.strip()):
        raise TransitionError("desk.transition.reason_required", target=target)


def is_final(status: Status) -> bool:
    """Whether the request is finished: completed, rejected or withdrawn."""
    return status in FINAL_STATUSES


def is_open(status: Status) -> bool:
    """Whether the request is filed and not finished (a draft is neither open nor final)."""
    return status in OPEN_STATUSES


def is_public(status: Status) -> bool:
    """Whether a request in this status is visible beyond its author: every status but ``draft``.

    A draft is the citizen's half-filled form: clerks do not see it, it has no tracking history,
    and it does not count in any report.
    """
    return status != S.DRAFT


def waits_for_citizen(status: Status) -> bool:
    """Whether the next move is the citizen's (information or payment), so the deadline clock may pause."""
    return status in {S.NEEDS_INFO, S.AWAITING_PAYMENT}
