"""think: cost-aware reasoning queries from the command line."""

__version__ = "0.1.0"
