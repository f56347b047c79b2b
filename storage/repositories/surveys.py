"""Citizens' satisfaction scores of finished requests."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from storage.models import ServiceRequest, SurveyAnswer
from storage.repositories.base import Repository

__all__ = ["SurveyAnswers"]


class SurveyAnswers(Repository):
    """Citizens' satisfaction scores, one per finished request."""

    async def of_request(self, request_id: int) -> SurveyAnswer | None:
        """The answer given for this request, if any."""
        stmt = select(SurveyAnswer).where(col(SurveyAnswer.request_id) == request_id)
        return (await self.session.scalars(stmt)).first()

    async def add(self, answer: SurveyAnswer) -> SurveyAnswer:
        """Store a first answer (its ``request_id`` must be set and have no answer yet)."""
        self.session.add(answer)
        await self.session.flush()
        return answer

    async def scores(self, organization_id: str) -> tuple[int, float | None]:
        """How many answers the organization's requests got and their average score (None when there are none)."""
        stmt = (
            select(func.count(col(SurveyAnswer.id)), func.avg(col(SurveyAnswer.score)))
            .join(ServiceRequest, col(ServiceRequest.id) == col(SurveyAnswer.request_id))
            .where(col(ServiceRequest.organization_id) == organization_id)
        )
        count, average = (await self.session.execute(stmt)).one()
        return int(count), (float(average) if average is not None else None)
