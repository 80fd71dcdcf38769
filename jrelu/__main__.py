"""``python -m jrelu`` is the ``jrelu`` command."""

from .cli import main

raise SystemExit(main())
