"""``miz emulator``: serve the emulator alone, with a demo Telegram bot and a demo Bale bot."""

from __future__ import annotations

import asyncio

from emulator._i18n import gettext as _
from emulator.server import running_emulator
from emulator.state import EmulatorState

__all__ = ["demo_state", "serve"]


def demo_state() -> EmulatorState:
    """A fresh world with the two demo bots (tokens exported by the ``emulator`` package)."""
    from emulator import DEMO_BALE_TOKEN, DEMO_TELEGRAM_TOKEN

    state = EmulatorState()
    state.add_bot(DEMO_TELEGRAM_TOKEN, "telegram", username="miz_demo_bot", first_name=_("emulator.bot_name"))
    state.add_bot(DEMO_BALE_TOKEN, "bale", username="miz_demo_bale_bot", first_name=_("emulator.bot_name"))
    return state


async def _serve_forever(host: str, port: int) -> None:
    from emulator import DEMO_BALE_TOKEN, DEMO_TELEGRAM_TOKEN

    async with running_emulator(host=host, port=port, state=demo_state()) as emu:
        print(_("emulator.listening").format(url=emu.base_url), flush=True)
        print(_("emulator.telegram_bot").format(token=DEMO_TELEGRAM_TOKEN), flush=True)
        print(_("emulator.bale_bot").format(token=DEMO_BALE_TOKEN), flush=True)
        print(_("emulator.stop_hint"), flush=True)
        await asyncio.Event().wait()


def serve(host: str = "127.0.0.1", port: int = 8081) -> int:
    """Run the emulator until Ctrl-C; the exit status (1 when the port cannot be bound)."""
    try:
        asyncio.run(_serve_forever(host, port))
    except KeyboardInterrupt:
        print(_("emulator.stopped"), flush=True)
    except OSError as error:
        print(_("emulator.port_busy").format(port=port, error=error), flush=True)
        return 1
    return 0
