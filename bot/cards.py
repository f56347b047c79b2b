"""Build the texts that describe catalog entries: the service card and its FAQ."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.render import Renderer
from catalog.index import Catalog
from catalog.schema import ComputedFee, FixedFee, Organization, ResolvedService
from desk.calendar import WorkCalendar
from desk.persian import format_identifier, format_jalali_date, format_number

__all__ = ["catalog_service_card", "faq_text", "place_text", "service_card"]


def _fee(r: Renderer, service: ResolvedService) -> tuple[str, str | None]:
    fee = service.fee
    note = fee.note.get(r.lang) if fee.note else None
    if isinstance(fee, FixedFee):
        return r.plain("bot.fee.fixed", amount=format_number(fee.amount, r.lang)), note
    if isinstance(fee, ComputedFee):
        return r.plain("bot.fee.computed"), note
    return r.plain("bot.fee.none"), note


def _duration(r: Renderer, service: ResolvedService, calendar: WorkCalendar, today: date) -> str:
    if service.duration_days == 0:
        return r.plain("bot.duration.same_day")
    deadline = calendar.add_working_days(today, service.duration_days)
    return r.plain(
        "bot.duration.days",
        days=format_number(service.duration_days, r.lang),
        date=format_jalali_date(deadline, r.lang),
    )


def _inquiries(r: Renderer, asked: Sequence[Organization]) -> str | None:
    """ "This service needs answers from …, usually within N working days" (the slowest agency's deadline)."""
    if not asked:
        return None
    return r.plain(
        "bot.card.inquiries",
        agencies=r.plain("bot.list.sep").join(agency.name.get(r.lang) for agency in asked),
        days=format_number(max(agency.inquiry_days for agency in asked), r.lang),
    )


def _place(r: Renderer, org: Organization) -> dict[str, str]:
    """Where the organization's office is and when it is open, as the card and the site show it."""
    contact = org.contact
    return {
        "org": org.name.get(r.lang),
        "address": contact.address.get(r.lang),
        "hours": contact.hours.get(r.lang) if contact.hours else "",
        "phone": format_identifier(contact.phone, r.lang) if contact.phone else "",
        "map": r.plain("bot.card.place.map") if contact.location else "",
    }


def place_text(r: Renderer, org: Organization) -> str:
    """The note sent with the office's location message: the organization, its address, hours and phone."""
    return r.template("place.j2", place=_place(r, org))


def service_card(
    r: Renderer,
    service: ResolvedService,
    org: Organization,
    calendar: WorkCalendar,
    today: date,
    asked: Sequence[Organization] = (),
) -> str:
    """The full card of ``service`` as ``org`` offers it, for this platform and language; ``asked`` are the
    agencies its ``inquiries`` name, whose answers the citizen may wait for."""
    lang = r.lang
    fee, fee_note = _fee(r, service)
    documents: list[dict[str, Any]] = [
        {
            "title": doc.title.get(lang),
            "description": doc.description.get(lang) if doc.description else "",
            "need": r.plain("bot.document.required" if doc.required else "bot.document.optional"),
            "kinds": r.plain("bot.list.sep").join(
                r.plain(f"bot.document.kind.{kind.value}") for kind in doc.kinds
            ),
        }
        for doc in service.documents
    ]
    responsible = service.responsible
    who = " · ".join(
        part
        for part in (
            responsible.title.get(lang),
            responsible.name.get(lang) if responsible.name else None,
            format_identifier(responsible.phone, lang) if responsible.phone else None,
        )
        if part
    )
    visit = (
        {"where": service.visit.where.get(lang), "bring": service.visit.what_to_bring.get(lang)}
        if service.visit and service.needs_visit
        else None
    )
    return r.template(
        "service_card.j2",
        title=service.title.get(lang),
        org=org.name.get(lang),
        summary=service.summary.get(lang),
        steps=[step.get(lang) for step in service.steps],
        documents=documents,
        duration=_duration(r, service, calendar, today),
        inquiries=_inquiries(r, asked),
        fee=fee,
        fee_note=fee_note,
        online=r.plain("bot.online.yes" if service.online else "bot.online.no"),
        visit=visit,
        place=_place(r, org) if service.needs_visit else None,
        laws=[
            {"title": law.title.get(lang), "reference": law.reference.get(lang) if law.reference else ""}
            for law in service.laws
        ],
        responsible=who,
        complaint=service.complaint.get(lang),
    )


def catalog_service_card(
    r: Renderer, catalog: Catalog, service: ResolvedService, org: Organization, today: date
) -> str:
    """:func:`service_card` with what the catalog knows around it: ``org``'s calendar, the agencies asked."""
    asked = [catalog.organization(item) for item in service.inquiries if catalog.has_organization(item)]
    return service_card(r, service, org, catalog.calendar_for(org.id), today, asked)


def faq_text(r: Renderer, service: ResolvedService) -> str:
    """The service's frequently asked questions, or a polite note that there are none."""
    if not service.faq:
        return r.text("bot.card.no_faq")
    return r.template(
        "faq.j2",
        title=service.title.get(r.lang),
        items=[{"q": item.question.get(r.lang), "a": item.answer.get(r.lang)} for item in service.faq],
    )
