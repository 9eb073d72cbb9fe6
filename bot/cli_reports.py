"""`canbo` subcommands for summaries, reports and demo data (filled in by its owner)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the reporting subcommands to the `canbo` parser."""
