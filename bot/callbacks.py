"""Typed callback data of every inline button; handlers never compare raw strings.

Telegram and Bale both cap callback data at 64 bytes; ids in the catalog are short ASCII, so these fit.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

__all__ = ["CategoryPick", "FaqOpen", "MenuOpen", "OrgPage", "OrgPick", "ServicePage", "ServicePick"]


class MenuOpen(CallbackData, prefix="menu"):
    """Back to the main menu."""


class OrgPage(CallbackData, prefix="orgs"):
    """A page of the list of organizations."""

    page: int = 0


class OrgPick(CallbackData, prefix="org"):
    """The citizen chose a municipality or dehyari: show its categories."""

    org: str


class CategoryPick(CallbackData, prefix="cat"):
    """The citizen chose a category of an organization: show its services."""

    org: str
    cat: str


class ServicePage(CallbackData, prefix="svcs"):
    """A page of the services of one category of one organization."""

    org: str
    cat: str
    page: int = 0


class ServicePick(CallbackData, prefix="svc"):
    """Show the card of a service as an organization offers it."""

    org: str
    svc: str


class FaqOpen(CallbackData, prefix="faq"):
    """Show the frequently asked questions of a service."""

    org: str
    svc: str
