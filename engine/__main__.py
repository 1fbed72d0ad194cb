"""``python -m engine`` runs the CLI, for environments without the console script."""

from engine.cli import main

main()
