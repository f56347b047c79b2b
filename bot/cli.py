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
from typing import Any

__all__ = ["main"]


def _catalog_check(args: argparse.Namespace) -> int:
    from catalog.cli import check

    return check(args.directory, strict=args.strict)


def _db_upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import upgrade_command

    return upgrade_command(args.url)


def _emulator(args: argparse.Namespace) -> int:
    from emulator.cli import serve

    return serve(host=args.host, port=args.port)


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(host=args.host, port=args.port, directory=args.data)


def _payments_import(args: argparse.Namespace) -> int:
    from bot.admin_cli import payments_import

    return payments_import(args.file, imported_by=args.by, url=args.url)


def _dues_import(args: argparse.Namespace) -> int:
    from bot.admin_cli import dues_import

    return dues_import(args.org, args.kind, args.file, imported_by=args.by, url=args.url)


def _certificate_issue(args: argparse.Namespace) -> int:
    from bot.admin_cli import certificate_issue

    return certificate_issue(
        org=args.org,
        type=args.type,
        holder_name=args.holder_name,
        holder_national_id=args.holder_national_id,
        property=args.property,
        issued_on=args.issued_on,
        valid_until=args.valid_until,
        request=args.request,
        issued_by=args.by,
        url=args.url,
    )


def _certificate_revoke(args: argparse.Namespace) -> int:
    from bot.admin_cli import certificate_revoke

    return certificate_revoke(args.code, reason=args.reason, url=args.url)


def _sms_costs(args: argparse.Namespace) -> int:
    from bot.admin_cli import sms_costs

    return sms_costs(since=args.since, url=args.url)


def _report(args: argparse.Namespace) -> int:
    from bot.report_cli import report_export

    return report_export(
        first=args.first,
        last=args.last,
        org=args.org,
        fmt=args.format,
        view=args.view,
        out_path=args.out,
        url=args.url,
    )


def _backup(args: argparse.Namespace) -> int:
    from bot.ops_cli import backup

    return backup(args.out_dir, url=args.url)


def _restore(args: argparse.Namespace) -> int:
    from bot.ops_cli import restore

    return restore(args.archive, url=args.url)


def _retention(args: argparse.Namespace) -> int:
    from bot.ops_cli import retention

    return retention(dry_run=args.dry_run, months=args.months, url=args.url)


def _doctor(args: argparse.Namespace) -> int:
    from bot.doctor import doctor

    return doctor()


def _add_upkeep_commands(commands: Any, url_help: str) -> None:
    """``miz backup``, ``miz restore``, ``miz retention`` and ``miz doctor``: keeping an installation well."""
    backup = commands.add_parser(
        "backup", help="write a dated archive of the database and the files, with a manifest and checksums"
    )
    backup.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    backup.add_argument("--url", default=None, help=url_help)
    backup.set_defaults(handler=_backup)

    restore = commands.add_parser(
        "restore",
        help="put a backup back into an empty installation (MIZ_DATABASE_URL and MIZ_FILES_DIR); "
        "its checksums are checked first",
    )
    restore.add_argument("archive", type=Path, metavar="ARCHIVE")
    restore.add_argument("--url", default=None, help=url_help)
    restore.set_defaults(handler=_restore)

    retention = commands.add_parser(
        "retention",
        help="remove the documents of requests closed more than MIZ_RETENTION_MONTHS months ago "
        "(the requests and their history stay, saying so)",
    )
    retention.add_argument("--dry-run", action="store_true", help="only say what would go: counts and bytes")
    retention.add_argument("--months", type=int, default=None, help="instead of MIZ_RETENTION_MONTHS")
    retention.add_argument("--url", default=None, help=url_help)
    retention.set_defaults(handler=_retention)

    doctor = commands.add_parser(
        "doctor",
        help="check the installation (tokens, operator groups, webhooks, database, Redis, files, SMS credit, "
        "catalog) and say what to fix; exit status 0 only when all is well",
    )
    doctor.set_defaults(handler=_doctor)


def _site_build(args: argparse.Namespace) -> int:
    from public.cli import site_build

    return site_build(
        args.out,
        catalog_dir=args.catalog,
        telegram=args.telegram_bot,
        bale=args.bale_bot,
        track_url=args.track_url,
        usage_url=args.usage_url,
    )


def _web(args: argparse.Namespace) -> int:
    from public.track import serve_tracking

    return serve_tracking(host=args.host, port=args.port)


def _run(args: argparse.Namespace) -> int:
    from bot.app import run_bots

    return run_bots()


def _serve(args: argparse.Namespace) -> int:
    from bot.serve import serve_bots

    return serve_bots()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="miz", description="Miz, the service desk of Falavarjan County")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    catalog = commands.add_parser("catalog", help="work with the service catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    check = catalog_commands.add_parser(
        "check", help="validate a catalog folder (default: the configured one)"
    )
    check.add_argument("directory", nargs="?", type=Path, default=None)
    check.add_argument(
        "--strict", action="store_true", help="fail (exit 1) while any value is still marked as a sample"
    )
    check.set_defaults(handler=_catalog_check)

    db = commands.add_parser("db", help="manage the database")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="apply every migration (default: MIZ_DATABASE_URL)")
    upgrade.add_argument("--url", default=None, help="database URL to upgrade instead of the configured one")
    upgrade.set_defaults(handler=_db_upgrade)

    url_help = "database URL instead of the configured one (MIZ_DATABASE_URL)"
    dues = commands.add_parser("dues", help="renovation, business and vehicle dues citizens look up and pay")
    dues_commands = dues.add_subparsers(dest="dues_command", required=True, metavar="ACTION")
    dues_import = dues_commands.add_parser(
        "import",
        help="import an organization's dues from a CSV file (code, national_id, amount_rials, period; "
        "for vehicles the code is the plate); nothing is imported unless every row is right, and the unpaid dues of the same periods are replaced",
    )
    dues_import.add_argument("--org", required=True, help="organization id in the catalog, e.g. falavarjan")
    dues_import.add_argument("--kind", required=True, choices=("renovation", "business", "vehicle"))
    dues_import.add_argument("--by", default=None, help="who imports (default: the login name)")
    dues_import.add_argument("--url", default=None, help=url_help)
    dues_import.add_argument("file", type=Path, metavar="FILE.csv")
    dues_import.set_defaults(handler=_dues_import)

    payments = commands.add_parser("payments", help="bills citizens paid at banks")
    payments_commands = payments.add_subparsers(dest="payments_command", required=True, metavar="ACTION")
    payments_import = payments_commands.add_parser(
        "import",
        help="apply a bank's report of bills paid (CSV: bill_id, payment_id, amount_rials, paid_on, "
        "trace_number): the matching dues and requests' payments are marked paid, the rest listed; "
        "a report with an unreadable row applies nothing, and the same report twice changes nothing",
    )
    payments_import.add_argument("--by", default=None, help="who imports (default: the login name)")
    payments_import.add_argument("--url", default=None, help=url_help)
    payments_import.add_argument("file", type=Path, metavar="FILE.csv")
    payments_import.set_defaults(handler=_payments_import)

    certificate = commands.add_parser("certificate", help="issue and revoke verifiable certificates")
    certificate_commands = certificate.add_subparsers(
        dest="certificate_command", required=True, metavar="ACTION"
    )
    issue = certificate_commands.add_parser(
        "issue", help="issue a certificate and print its verification code"
    )
    issue.add_argument("--org", required=True, help="issuing organization's id in the catalog")
    issue.add_argument(
        "--type",
        required=True,
        help="building_permit, completion_certificate, no_violation_certificate, excavation_permit "
        "or tree_cutting_permit",
    )
    issue.add_argument("--holder-name", required=True)
    issue.add_argument("--holder-national-id", required=True)
    issue.add_argument("--property", required=True, help="address, plate or code of the property")
    issue.add_argument("--issued-on", default=None, help="Jalali date, e.g. 1405/09/06 (default: today)")
    issue.add_argument("--valid-until", default=None, help="Jalali date (default: no end)")
    issue.add_argument(
        "--request",
        default=None,
        help="tracking code of the request it answers; to correct its certificate, revoke that one first "
        "(the citizen of a completed request is sent the new code)",
    )
    issue.add_argument("--by", default=None, help="who issues (default: the login name)")
    issue.add_argument("--url", default=None, help=url_help)
    issue.set_defaults(handler=_certificate_issue)
    revoke = certificate_commands.add_parser("revoke", help="revoke a certificate; verifiers see the reason")
    revoke.add_argument("code", help="the certificate's verification code")
    revoke.add_argument("--reason", required=True)
    revoke.add_argument("--url", default=None, help=url_help)
    revoke.set_defaults(handler=_certificate_revoke)

    sms = commands.add_parser("sms", help="SMS sent to citizens")
    sms_commands = sms.add_subparsers(dest="sms_command", required=True, metavar="ACTION")
    costs = sms_commands.add_parser("costs", help="SMS sent and what they cost, per organization")
    costs.add_argument(
        "--since", default=None, help="from this Jalali date on, e.g. 1405/09/01 (default: all)"
    )
    costs.add_argument("--url", default=None, help=url_help)
    costs.set_defaults(handler=_sms_costs)

    report = commands.add_parser(
        "report", help="write the figures of every organization (or one) over a Jalali period to a file"
    )
    report.add_argument("--from", dest="first", required=True, help="first day, e.g. 1405/09/01")
    report.add_argument("--to", dest="last", required=True, help="last day, e.g. 1405/09/30")
    report.add_argument("--org", default=None, help="one organization's own report (default: every one)")
    report.add_argument("--format", choices=("xlsx", "csv", "md"), default="xlsx")
    report.add_argument(
        "--view",
        choices=("organizations", "services", "clerks", "ratings"),
        default="organizations",
        help="the table a CSV holds (xlsx and md hold them all)",
    )
    report.add_argument("--out", default=None, help="the file to write (default: report-FIRST-LAST.FORMAT)")
    report.add_argument("--url", default=None, help=url_help)
    report.set_defaults(handler=_report)

    _add_upkeep_commands(commands, url_help)

    emulator = commands.add_parser("emulator", help="run the local Bot API emulator alone")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8081)
    emulator.set_defaults(handler=_emulator)

    demo = commands.add_parser("demo", help="run Miz against the local emulator with the built-in catalog")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8081)
    demo.add_argument(
        "--data",
        type=Path,
        default=None,
        help="where the demo keeps its database, files and people (var/demo)",
    )
    demo.set_defaults(handler=_demo)

    run = commands.add_parser("run", help="run the bots with the configured tokens")
    run.set_defaults(handler=_run)

    site = commands.add_parser("site", help="the public website of the catalog")
    site_commands = site.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    build = site_commands.add_parser(
        "build",
        help="write the static site, in Persian and English, with a poster per organization and service",
    )
    build.add_argument("out", type=Path, help="folder to write the site into (created)")
    build.add_argument("--catalog", type=Path, default=None, help="catalog folder (default: MIZ_CATALOG_DIR)")
    build.add_argument(
        "--bale-bot", default=None, help="the Bale bot's username (default: MIZ_BALE_USERNAME)"
    )
    build.add_argument(
        "--telegram-bot", default=None, help="the Telegram bot's username (default: MIZ_TELEGRAM_USERNAME)"
    )
    build.add_argument(
        "--track-url",
        default=None,
        help="the web tracking page's address, linked from every page and printed on the posters "
        "(default: MIZ_WEBHOOK_URL/track, where miz serve answers it; an empty value leaves it out)",
    )
    build.add_argument(
        "--usage-url",
        default=None,
        help="a database URL (e.g. MIZ_DATABASE_URL's): each organization's poster lists its services most "
        "requested in the last year; without it, the catalog's order",
    )
    build.set_defaults(handler=_site_build)

    web = commands.add_parser(
        "web", help="serve the web tracking page (/track) alone; miz serve also serves it"
    )
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8090)
    web.set_defaults(handler=_web)

    serve = commands.add_parser(
        "serve",
        help="run the bots by webhook as one of several workers (MIZ_WEBHOOK_URL, MIZ_SERVE_PORT, MIZ_REDIS_URL)",
    )
    serve.set_defaults(handler=_serve)
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
