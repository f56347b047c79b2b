"""Service definitions as requests were filed under them, each distinct one stored once (``ServiceVersion``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlmodel import col, select

from storage.models import ServiceVersion
from storage.repositories.base import Repository

__all__ = ["ServiceVersions", "canonical_definition", "definition_sha256"]


def canonical_definition(definition: Mapping[str, Any]) -> str:
    """One text per definition, whatever the order of its keys: what its hash is taken of."""
    return json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def definition_sha256(definition: Mapping[str, Any]) -> str:
    """The key of a definition in ``service_version``."""
    return hashlib.sha256(canonical_definition(definition).encode("utf-8")).hexdigest()


class ServiceVersions(Repository):
    """Finds, or stores once, the definition a request is filed under."""

    async def get_or_create(
        self, service_id: str, version: str, definition: Mapping[str, Any]
    ) -> ServiceVersion:
        """The stored row of ``definition``, inserted when it is new. Two submits of a new definition at once both
        get the one row (the insert skips a row another transaction wrote first)."""
        sha256 = definition_sha256(definition)
        found = await self._by_sha256(sha256)
        if found is not None:
            return found
        insert = await self._insert(ServiceVersion)
        row = ServiceVersion(
            sha256=sha256, service_id=service_id, version=version, definition=dict(definition)
        )
        values = row.model_dump(exclude={"id"})
        await self.session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["sha256"]))
        stored = await self._by_sha256(sha256)
        assert stored is not None
        return stored

    async def _by_sha256(self, sha256: str) -> ServiceVersion | None:
        stmt = select(ServiceVersion).where(col(ServiceVersion.sha256) == sha256)
        return (await self.session.scalars(stmt)).first()

    async def get(self, version_id: int) -> ServiceVersion | None:
        """A stored definition by its id (the ones a transfer to another service names)."""
        return await self.session.get(ServiceVersion, version_id)
