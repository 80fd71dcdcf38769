"""``python -m jrelu`` is the ``jrelu`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
