"""Bot features: one module each, exposing `FEATURE` (see bot.feature and docs/bot.md)."""
