"""cw: AI-agent run state in plain files, with honest metrics, cost and revenue."""

__version__ = "0.1.0"
