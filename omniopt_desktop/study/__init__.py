"""The study model, its TOML file, validation and command templating (no Qt)."""
