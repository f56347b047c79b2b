"""A local Bot API server speaking the Telegram and the Bale dialect, with a control API and a test client.

Miz cannot reach Telegram or Bale from its development machines, so end-to-end tests, the offline demo and
catalog previews all talk to this emulator over real HTTP. See README.md and CONTROL_API.md.
"""

from emulator.client import Citizen, Clerk, EmulatorClient, Person
from emulator.server import RunningEmulator, create_app, running_emulator
from emulator.state import EmulatorState

__all__ = [
    "DEMO_BALE_TOKEN",
    "DEMO_TELEGRAM_TOKEN",
    "Citizen",
    "Clerk",
    "EmulatorClient",
    "EmulatorState",
    "Person",
    "RunningEmulator",
    "create_app",
    "running_emulator",
]

# Fixed tokens of the two demo bots `miz emulator` creates (the demo and the web page use them).
DEMO_TELEGRAM_TOKEN = "1000000001:MIZ-DEMO-TELEGRAM-aaaaaaaaaaaaaaaaaaaaa"
DEMO_BALE_TOKEN = "2000000002:MIZ-DEMO-BALE-bbbbbbbbbbbbbbbbbbbbbbbbbbbb"
