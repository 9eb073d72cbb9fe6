"""`canbo playground`: the real bot against the local Bot API and a chat web page (filled in by its owner)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the playground subcommand to the `canbo` parser."""
