"""``python -m nmsim``: the ``nmsim`` command without an installed entry point."""

from nmsim.cli import main

main()
