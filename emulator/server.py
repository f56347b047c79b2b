"""The HTTP server: the Bot API at ``/bot<token>/<method>``, files at ``/file/bot<token>/<path>``, and ``/sim``.

The SMS gateways Kavenegar and SMS.ir answer on their own real paths under ``/v1`` (see ``emulator.sms``).
``create_app(state)`` builds the aiohttp application; ``running_emulator()`` runs one on a free port for the
length of an ``async with`` block, which is how tests and the demo use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from emulator.control import setup_control
from emulator.dialects import DialectName
from emulator.errors import ApiError, not_found, unauthorized
from emulator.files import MAX_UPLOAD
from emulator.methods import METHODS, Call, FilePart, Result
from emulator.sms import setup_sms
from emulator.state import BotAccount, EmulatorState, Fault

__all__ = ["STATE_KEY", "RunningEmulator", "create_app", "running_emulator"]

STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("emulator_state", EmulatorState)
_log = logging.getLogger(__name__)
_DEFAULT_TIMEOUT_HOLD = 60.0


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(payload, ensure_ascii=False), status=status, content_type="application/json"
    )


def _error(error: ApiError) -> web.Response:
    return _json(error.payload(), status=error.code)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, FilePart]]:
    """Parameters from the query string and the body, read as the Bot API reads them."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, FilePart] = {}
    if not request.body_exists:
        return params, files
    content_type = request.content_type
    if content_type == "multipart/form-data":
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                data = bytearray()
                while chunk := await part.read_chunk(1 << 16):
                    data.extend(chunk)
                    if len(data) > MAX_UPLOAD:
                        raise ApiError(413, "Request Entity Too Large")
                files[part.name] = FilePart(part.filename, part.headers.get("Content-Type"), bytes(data))
            else:
                params[part.name] = await part.text()
    elif content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            params.update(body)
    else:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = value
            elif isinstance(value, web.FileField):
                files[key] = FilePart(value.filename, value.content_type, value.file.read())
    return params, files


async def _apply_fault(request: web.Request, fault: Fault) -> web.StreamResponse | None:
    """Answer with the scheduled failure; None when the call should then proceed (a mere delay)."""
    if fault.kind == "delay":
        await asyncio.sleep(fault.delay or 1.0)
        return None
    if fault.kind == "429":
        return _error(
            ApiError(
                429, f"Too Many Requests: retry after {fault.retry_after}", {"retry_after": fault.retry_after}
            )
        )
    if fault.kind == "500":
        return _error(ApiError(500, "Internal Server Error"))
    if fault.kind == "502":
        return _error(ApiError(502, "Bad Gateway"))
    if fault.kind == "timeout":
        await asyncio.sleep(fault.delay if fault.delay is not None else _DEFAULT_TIMEOUT_HOLD)
        return _error(ApiError(504, "Gateway Timeout"))
    # "drop": close the connection without an answer.
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError


async def bot_api(request: web.Request) -> web.StreamResponse:
    """One Bot API call: token, scheduled fault, method (per dialect), then the handler."""
    state = request.app[STATE_KEY]
    bot = state.bots.get(request.match_info["token"])
    if bot is None:
        return _error(unauthorized())
    name = request.match_info["method"].rstrip("/").lower()
    fault = state.take_fault(bot, name)
    if fault is not None:
        answer = await _apply_fault(request, fault)
        if answer is not None:
            return answer
    handler = METHODS.get(name)
    if handler is None or not bot.dialect.has_method(name):
        error = not_found()
        bot.refused.append({"method": name, "error_code": error.code, "description": error.description})
        return _error(error)
    try:
        params, files = await _read_params(request)
        result = await handler(Call(state, bot, name, params, files))
    except ApiError as error:
        bot.refused.append({"method": name, "error_code": error.code, "description": error.description})
        return _error(error)
    if isinstance(result, Result):
        body: dict[str, Any] = {"ok": True, "result": result.value}
        if result.description:
            body["description"] = result.description
        return _json(body)
    return _json({"ok": True, "result": result})


async def download_file(request: web.Request) -> web.StreamResponse:
    """A file's bytes by the ``file_path`` getFile gave."""
    state = request.app[STATE_KEY]
    if request.match_info["token"] not in state.bots:
        return _error(unauthorized())
    stored = state.files_by_path.get(request.match_info["path"])
    if stored is None:
        return _error(not_found())
    return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")


async def _fallback(request: web.Request) -> web.StreamResponse:
    return _error(not_found())


async def _stop_webhooks(app: web.Application) -> None:
    tasks = [bot.webhook.task for bot in app[STATE_KEY].bots.values() if bot.webhook and bot.webhook.task]
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(state: EmulatorState | None = None) -> web.Application:
    """The emulator as an aiohttp application: Bot API, files, control API, SMS gateways, web page if present."""
    app = web.Application(client_max_size=MAX_UPLOAD + 10 * 1024 * 1024)
    app[STATE_KEY] = state if state is not None else EmulatorState()
    app.router.add_route("*", "/bot{token}/{method}", bot_api)
    app.router.add_route("*", "/file/bot{token}/{path:.+}", download_file)
    setup_control(app, app[STATE_KEY])
    setup_sms(app, app[STATE_KEY])
    try:
        web_module = importlib.import_module("emulator.web")
    except ImportError:
        web_module = None
    if web_module is not None and hasattr(web_module, "setup_web"):
        web_module.setup_web(app)
    app.router.add_route("*", "/{tail:.*}", _fallback)
    app.on_cleanup.append(_stop_webhooks)
    return app


@dataclass
class RunningEmulator:
    """An emulator serving on a local port."""

    base_url: str
    state: EmulatorState
    app: web.Application

    def add_bot(
        self,
        token: str,
        dialect: DialectName = "telegram",
        username: str | None = None,
        **options: Any,
    ) -> BotAccount:
        """Register a bot token speaking ``dialect``; ``options`` as in CONTROL_API.md."""
        return self.state.add_bot(token, dialect, username=username, options=options or None)


@contextlib.asynccontextmanager
async def running_emulator(
    host: str = "127.0.0.1", port: int = 0, state: EmulatorState | None = None
) -> AsyncIterator[RunningEmulator]:
    """Serve an emulator for the length of the block (``port=0``: any free port)."""
    app = create_app(state)
    # On the way out, only long polls (getUpdates, the control API's waits) are still being answered: their clients
    # have gone, so they are cancelled after a tenth of a second instead of being waited for.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    try:
        yield RunningEmulator(base_url=f"http://{host}:{bound}", state=app[STATE_KEY], app=app)
    finally:
        await runner.cleanup()
