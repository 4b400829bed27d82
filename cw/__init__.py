"""cw: AI-agent run state in plain files, with honest metrics, cost and revenue."""

__version__ = "0.1.0"

# The name on the package index (plain "cw" there is an unrelated project); the
# command stays `cw` and the import package stays `cw`.
DISTRIBUTION = "cw-runs"


def extra_hint(extra: str) -> str:
    """How to install an optional extra, for messages that need one."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"
