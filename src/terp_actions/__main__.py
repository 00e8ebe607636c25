"""Lets ``python -m terp_actions`` run the command-line interface."""

from terp_actions.cli import main

main()
