"""Import aiogram with its types' schemas built on first use, not all at import: 2.2 s → 0.6 s of every start.

Why: at the end of ``aiogram/types/__init__.py`` aiogram calls ``model_rebuild`` on each of its ~300 types, so
importing it builds ~300 pydantic validators one after another, each holding its own copy of every type it
nests. That loop was 1.6 s of the 2.2 s aiogram took to import, and half of ``miz run``'s cold start. aiogram
already declares its types ``defer_build=True``; only that loop defeats it. Built lazily, the one validator a
bot needs at once (``Update``, which nests every type an update can carry) takes 0.07 s.

How: while ``aiogram.types`` is imported, ``BaseModel.model_rebuild`` skips the loop's calls for deferred
models and keeps the names the loop passes (every aiogram type, and ``Default``). Those names are then put into
each ``aiogram.types.*`` module that lacks them: they import each other only under ``TYPE_CHECKING``, and a
model built on first use resolves its annotations in its module's namespace. A method whose types were not
ready when its class was made is built, in the same way, the first time it is sent. ``Update`` is built before
this returns, so a failure shows at start, not at the first update.

Only ``bot/__init__.py`` calls :func:`import_aiogram`, before any other module of ``bot`` imports aiogram;
``desk``, ``storage``, ``catalog`` and the emulator never import it. If aiogram was imported before (by a
test or a tool importing it directly), nothing changes and its types are already built.
``tests/bot/test_aiogram_import.py`` builds every type and every method the lazy way, so a new aiogram or
pydantic that breaks this fails there, in CI, not in production.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel

__all__ = ["import_aiogram"]


def import_aiogram() -> None:
    """Import ``aiogram`` (once), with its types' validators built when first used; see the module's text."""
    if "aiogram" in sys.modules:
        return
    original = BaseModel.__dict__["model_rebuild"]
    namespace: dict[str, Any] = {}

    def deferred(cls: type[BaseModel], /, **kwargs: Any) -> bool | None:
        types_namespace = kwargs.get("_types_namespace")
        if types_namespace is not None and not kwargs.get("force") and cls.model_config.get("defer_build"):
            namespace.update(types_namespace)
            return None
        return original.__func__(cls, **kwargs)  # type: ignore[no-any-return]

    BaseModel.model_rebuild = classmethod(deferred)  # type: ignore[method-assign, assignment]
    try:
        import aiogram.types
    finally:
        BaseModel.model_rebuild = original  # type: ignore[method-assign]
    for name, module in list(sys.modules.items()):
        if name.startswith("aiogram.types.") and module is not None:
            for key, value in namespace.items():
                module.__dict__.setdefault(key, value)
    aiogram.types.Update.model_rebuild(_types_namespace=namespace)
