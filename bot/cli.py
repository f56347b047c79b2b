"""The ``miz`` command line.

argparse rather than Typer: the standard library is enough for a handful of sub-commands, and it keeps
the tool's start-up fast and its dependency list short. Each sub-command imports its module lazily so
``miz catalog check`` never pays for aiogram or the database drivers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _catalog_check(args: argparse.Namespace) -> int:
    from catalog.cli import check

    return check(args.directory)


def _db_upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import upgrade_command

    return upgrade_command(args.url)


def _emulator(args: argparse.Namespace) -> int:
    from emulator.cli import serve

    return serve(host=args.host, port=args.port)


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(host=args.host, port=args.port)


def _run(args: argparse.Namespace) -> int:
    from bot.app import run_bots

    return run_bots()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="miz", description="Miz, the service desk of Falavarjan County")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    catalog = commands.add_parser("catalog", help="work with the service catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    check = catalog_commands.add_parser(
        "check", help="validate a catalog folder (default: the configured one)"
    )
    check.add_argument("directory", nargs="?", type=Path, default=None)
    check.set_defaults(handler=_catalog_check)

    db = commands.add_parser("db", help="manage the database")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="apply every migration (default: MIZ_DATABASE_URL)")
    upgrade.add_argument("--url", default=None, help="database URL to upgrade instead of the configured one")
    upgrade.set_defaults(handler=_db_upgrade)

    emulator = commands.add_parser("emulator", help="run the local Bot API emulator alone")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8081)
    emulator.set_defaults(handler=_emulator)

    demo = commands.add_parser("demo", help="run Miz against the local emulator with the built-in catalog")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8081)
    demo.set_defaults(handler=_demo)

    run = commands.add_parser("run", help="run the bots with the configured tokens")
    run.set_defaults(handler=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
