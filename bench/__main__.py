"""``python -m bench`` (``make bench``)."""

from bench._cli import main

raise SystemExit(main())
