"""``python -m nmsim`` runs the CLI."""

from nmsim.cli import main

main()
