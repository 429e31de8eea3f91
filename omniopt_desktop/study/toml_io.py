"""study.toml load/save with tomlkit (keeps comments and key order). Workstation-side only."""
