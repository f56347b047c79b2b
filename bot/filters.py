"""Filters that run in the event loop, and callback queries routed by their prefix.

aiogram (3.31) runs every synchronous filter of a handler in a worker thread (``asyncio.to_thread`` in
``CallableObject.call``), magic filters such as ``F.chat.type == "private"`` included. They are attribute
look-ups, and the thread hand-over cost far more than the check: ``make bench`` counted fifteen hops per update,
about a quarter of Miz's CPU. :func:`run_filters_inline` turns them into coroutines once the routers are built;
handlers themselves are all ``async`` already.

A button press used to be offered to every router in turn, and each router tried each of its handlers'
callback-data filters (parsing the data each time): about fifty checks before the browse dialog, the last
router, saw it. :func:`route_callbacks_by_prefix` gives each router whose callback handlers all filter on a
``CallbackData`` one check up front, on the data's prefix; and :func:`route_by_state` gives each router whose
handlers all wait for some conversation state one check on the state (a typed message used to meet about fifty
handler checks on its way to the browse dialog's search).

:class:`IsClerk` decides once who may work in an operator group, and hands the handler who they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Filter, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.clerks import ClerkRegistry
from bot.platforms import Platform
from catalog.loader import CatalogHolder
from catalog.schema import Clerk, ClerkRole, Organization, OrganizationKind
from desk.handling import ActorRef
from desk.lifecycle import Actor

__all__ = ["IsClerk", "clerk_actor", "route_by_state", "route_callbacks_by_prefix", "run_filters_inline"]


def _inline(check: Callable[..., Any]) -> Callable[..., Any]:
    async def run(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    return run


def _filters(router: Router) -> Iterator[FilterObject]:
    for sub in router.chain_tail:
        for observer in sub.observers.values():
            yield from observer._handler.filters or ()  # the router-level filters (router.message.filter)
            for handler in observer.handlers:
                yield from handler.filters or ()


def run_filters_inline(router: Router) -> int:
    """Make every synchronous filter of ``router`` and its sub-routers a coroutine; how many were changed."""
    changed = 0
    for item in _filters(router):
        if not item.awaitable:
            item.callback = _inline(item.callback)
            item.awaitable = True
            changed += 1
    return changed


def _prefix_check(prefixes: frozenset[str], separator: str) -> Callable[..., Any]:
    async def has_prefix(query: CallbackQuery) -> bool:
        return bool(query.data) and query.data.split(separator, 1)[0] in prefixes  # type: ignore[union-attr]

    return has_prefix


def route_callbacks_by_prefix(router: Router) -> list[str]:
    """Give every router under ``router`` whose callback handlers all need some ``CallbackData`` a first check on
    the prefixes they accept; answers the names of the routers that got one.

    That check rejects only presses none of the router's handlers could take, so nothing changes but speed.
    A router with sub-routers is left alone (a router's check also guards its sub-routers), and so is one
    with any callback handler that does not filter on a ``CallbackData`` (a catch-all for stale buttons).
    Call it before :func:`run_filters_inline`, which wraps the filters it reads.
    """
    routed = []
    for sub in router.chain_tail:
        observer = sub.callback_query
        if sub.sub_routers or not observer.handlers:
            continue
        kinds = []
        for handler in observer.handlers:
            found = [f.callback for f in handler.filters or () if isinstance(f.callback, CallbackQueryFilter)]
            if not found:
                break
            kinds.append(found[0].callback_data)
        else:
            separators = {kind.__separator__ for kind in kinds}
            if len(separators) != 1:
                continue
            _check_first(observer, _prefix_check(frozenset(k.__prefix__ for k in kinds), separators.pop()))
            routed.append(sub.name)
    return routed


def _check_first(observer: TelegramEventObserver, check: Callable[..., Any]) -> None:
    observer._handler.filters = [FilterObject(check), *(observer._handler.filters or ())]


_ANY = None


def _states_of(item: Any) -> frozenset[str | None] | None:
    """The state names a state filter lets through; None for any state (``"*"``) or a filter of another kind."""
    if isinstance(item, StateFilter):
        names: set[str | None] = set()
        for allowed in item.states:
            found = _states_of(allowed) if allowed is not None else frozenset({None})
            if found is _ANY:
                return _ANY
            names |= found
        return frozenset(names)
    if isinstance(item, str):
        return _ANY if item == "*" else frozenset({item})
    if isinstance(item, State):
        return _ANY if item.state == "*" else frozenset({item.state})
    if isinstance(item, StatesGroup):
        return frozenset(type(item).__all_states_names__)
    if isinstance(item, type) and issubclass(item, StatesGroup):
        return frozenset(item.__all_states_names__)
    return _ANY


def _state_check(states: frozenset[str | None]) -> Callable[..., Any]:
    async def in_states(event: TelegramObject, raw_state: str | None = None) -> bool:
        return raw_state in states

    return in_states


def route_by_state(router: Router, events: tuple[str, ...] = ("message", "callback_query")) -> list[str]:
    """Give every router under ``router`` whose ``events`` handlers all wait for some conversation state a first
    check on that state; answers ``"router.event"`` for each check added.

    As with :func:`route_callbacks_by_prefix`, the check turns away only updates none of the handlers could
    take (a handler's first state filter is a condition it needs), and routers with sub-routers are left
    alone. Call it before :func:`run_filters_inline`.
    """
    routed = []
    for sub in router.chain_tail:
        if sub.sub_routers:
            continue
        for event in events:
            observer = sub.observers[event]
            if not observer.handlers:
                continue
            allowed: set[str | None] = set()
            for handler in observer.handlers:
                found = next(
                    (s for f in handler.filters or () if (s := _states_of(f.callback)) is not _ANY), _ANY
                )
                if found is _ANY:
                    break
                allowed |= found
            else:
                _check_first(observer, _state_check(frozenset(allowed)))
                routed.append(f"{sub.name}.{event}")
    return routed


def clerk_actor(clerk: Clerk, org: Organization) -> ActorRef:
    """``clerk`` as ``desk`` knows who acts: a clerk or supervisor of ``org``, on the messenger they wrote from."""
    return ActorRef(
        kind=Actor.SUPERVISOR if clerk.role is ClerkRole.SUPERVISOR else Actor.CLERK,
        platform=clerk.platform.value,
        user_id=clerk.user_id,
        name=clerk.name.get("fa"),
        organization_id=org.id,
        # The governorate oversees every organization: it reads any request, and acts on what is routed to it.
        oversight=org.kind is OrganizationKind.GOVERNORATE,
    )


class IsClerk(Filter):
    """Lets through a message or button press in an organization's operator group from one of its clerks
    (in the catalog, or registered with /addclerk), and gives the handler ``org``, ``clerk`` and ``actor``
    (:func:`clerk_actor`). Anyone else, or any other chat, does not pass: a handler registered after the
    filtered ones with the same other filters answers them."""

    async def __call__(
        self,
        event: Message | CallbackQuery,
        platform: Platform,
        catalogs: CatalogHolder,
        clerks: ClerkRegistry,
    ) -> dict[str, Any] | bool:
        if isinstance(event, CallbackQuery):
            chat = event.message.chat if event.message is not None else None
        else:
            chat = event.chat
        user = event.from_user
        if chat is None or user is None:
            return False
        org = catalogs.catalog.organization_by_group(platform.value, chat.id)
        clerk = clerks.find(org.id, platform.value, user.id) if org is not None else None
        if org is None or clerk is None:
            return False
        return {"org": org, "clerk": clerk, "actor": clerk_actor(clerk, org)}
