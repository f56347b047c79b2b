"""Certificates organizations issued, and their revocation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.columns import utcnow
from storage.errors import VerificationCodeTakenError
from storage.models import Certificate
from storage.repositories.base import Repository

__all__ = ["Certificates"]


class Certificates(Repository):
    """Certificates organizations issued, found by their verification code."""

    async def add(self, certificate: Certificate) -> Certificate:
        """Store a new certificate; raises ``VerificationCodeTakenError`` when its code is in use (draw another)."""
        try:
            async with self.session.begin_nested():
                self.session.add(certificate)
                await self.session.flush()
        except IntegrityError:
            if await self.by_code(certificate.verification_code) is not None:
                raise VerificationCodeTakenError(certificate.verification_code) from None
            raise
        return certificate

    async def by_code(self, verification_code: str) -> Certificate | None:
        """The certificate with this code (already normalized and checked by ``desk``)."""
        stmt = select(Certificate).where(col(Certificate.verification_code) == verification_code)
        return (await self.session.scalars(stmt)).first()

    async def by_request(self, request_id: int) -> Certificate | None:
        """The newest certificate issued for request ``request_id``, or None."""
        stmt = (
            select(Certificate)
            .where(col(Certificate.request_id) == request_id)
            .order_by(col(Certificate.id).desc())
        )
        return (await self.session.scalars(stmt)).first()

    async def of_request(self, request_id: int) -> Sequence[Certificate]:
        """Every certificate issued for request ``request_id`` (revoked ones too), oldest first."""
        stmt = (
            select(Certificate).where(col(Certificate.request_id) == request_id).order_by(col(Certificate.id))
        )
        return (await self.session.scalars(stmt)).all()

    async def revoke(self, certificate: Certificate, reason: str, *, at: datetime | None = None) -> None:
        """Mark ``certificate`` revoked for ``reason`` (``desk`` checks that it was valid)."""
        certificate.status = "revoked"
        certificate.revoked_reason = reason
        certificate.revoked_at = at or utcnow()
        self.session.add(certificate)
        await self.session.flush()
