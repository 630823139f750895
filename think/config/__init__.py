"""Configuration: flags, ``THINK_*``, the TOML file and profiles, to typed settings."""
