"""Configuration: one TOML file, validated with every error shown at its TOML path."""
