"""Fakes of systems outside the product (the Telegram Bot API, an LLM server)."""
