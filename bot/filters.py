"""Filters that run in the event loop.

aiogram (3.31) runs every synchronous filter of a handler in a worker thread (``asyncio.to_thread`` in
``CallableObject.call``), magic filters such as ``F.chat.type == "private"`` included. They are attribute
look-ups, and the thread hand-over cost far more than the check: ``make bench`` counted fifteen hops per update,
about a quarter of Miz's CPU. :func:`run_filters_inline` turns them into coroutines once the routers are built;
handlers themselves are all ``async`` already.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject

__all__ = ["run_filters_inline"]


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
