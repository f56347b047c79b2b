"""The kinds of certificate an organization issues, on their own so the catalog can name them without the store."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CertificateType"]


class CertificateType(StrEnum):
    """The kinds of certificate an organization issues with a verification code."""

    BUILDING_PERMIT = "building_permit"
    COMPLETION = "completion_certificate"
    NO_VIOLATION = "no_violation_certificate"
    EXCAVATION_PERMIT = "excavation_permit"
    TREE_CUTTING_PERMIT = "tree_cutting_permit"

    @property
    def label_key(self) -> str:
        return f"certificate.type.{self.value}"
