"""Which operator groups a request's card and messages go to.

Most requests go to their organization's group. A complaint whose citizen asked to stay anonymous goes to the
governorate's group instead, so the staff of the organization complained about never see who complained
(the issue: "optionally anonymous to the organization's clerks; routed to the organization's supervisor or the
governorate group"). A complaint that is not anonymous is handled by the organization's own supervisor and clerks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.index import Catalog
from catalog.schema import OrganizationKind

__all__ = ["ANONYMOUS_FIELD", "COMPLAINT_SERVICE", "request_groups"]

COMPLAINT_SERVICE = "complaint"
"""The catalog's service for complaints about a service or an official."""

ANONYMOUS_FIELD = "anonymous"
"""The complaint form's yes/no field: hide the citizen from the organization's staff."""


def request_groups(
    catalog: Catalog, organization_id: str, service_id: str, answers: Mapping[str, Any]
) -> dict[str, int]:
    """Platform name -> chat id of every group that works this request."""
    if service_id == COMPLAINT_SERVICE and answers.get(ANONYMOUS_FIELD) is True:
        governorate = next((o for o in catalog.organizations if o.kind is OrganizationKind.GOVERNORATE), None)
        if governorate is not None and catalog.operator_groups(governorate.id):
            return catalog.operator_groups(governorate.id)
    return catalog.operator_groups(organization_id)
