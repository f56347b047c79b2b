"""``python -m bench.reports``: the governorate's monthly report on a county of a million requests.

    python -m bench.reports [--size 1000000] [--db sqlite --db postgres] [--dir var/bench] [--reuse]

It is ``python -m bench.scale`` with the sizes and databases the reports' targets name: one million requests
(``bench.county``), on SQLite and on PostgreSQL; the row to read is "monthly report (all orgs)", against the
targets of under 1 second on PostgreSQL and under 3 seconds on SQLite.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bench.scale import main as scale

__all__ = ["main"]

SIZE = 1_000_000


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--size" not in args:
        args += ["--size", str(SIZE)]
    if "--db" not in args:
        args += ["--db", "sqlite", "--db", "postgres"]
    return scale(args)


if __name__ == "__main__":
    raise SystemExit(main())
