"""The Telegram adapter and the composition root: settings, CLI and wiring."""
