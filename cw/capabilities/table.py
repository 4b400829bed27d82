"""The capability table's vocabulary: a verb is declared once, every surface renders it.

A ``Capability`` names the verb, its parameters (with types and help), the
core entry it calls and whether it is read-only. The CLI builds click
commands from it, the MCP server builds tools (``cw_<verb>``) with input
schemas from it, the workbench serves read-only ones under ``/api/``, and
the Python API (``cw.api``) makes one ``Workspace`` method per verb.
Adding a verb is adding one row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import msgspec

if TYPE_CHECKING:
    from cw.shell.workspace import Workspace

ParamType = Literal["string", "integer", "boolean", "number"]


class Param(msgspec.Struct, frozen=True):
    """One input of a verb.

    ``name`` is the key handlers read (snake_case). The CLI spelling is
    ``--name-with-dashes`` (or a positional argument), the MCP spelling is
    camelCase unless overridden.
    """

    name: str
    help: str
    type: ParamType = "string"
    positional: bool = False
    required: bool = False
    multiple: bool = False
    nargs: int = 1
    choices: tuple[str, ...] | None = None
    default: Any = None
    metavar: str | None = None
    cli_flag: str | None = None
    cli_short: str | None = None  # an extra one-letter spelling, e.g. "-o"
    mcp_name: str | None = None
    cli: bool = True
    mcp: bool = True
    mcp_required: bool = False  # required over MCP although the CLI owns the message when it is missing

    @property
    def required_in_mcp(self) -> bool:
        return self.required or self.mcp_required

    @property
    def flag(self) -> str:
        return self.cli_flag or "--" + self.name.replace("_", "-")

    @property
    def mcp_key(self) -> str:
        if self.mcp_name:
            return self.mcp_name
        head, *rest = self.name.split("_")
        return head + "".join(w[:1].upper() + w[1:] for w in rest)

    def json_schema(self) -> dict[str, Any]:
        item: dict[str, Any] = {"type": self.type}
        if self.choices:
            item["enum"] = list(self.choices)
        if self.nargs > 1:
            sch: dict[str, Any] = {
                "type": "array",
                "items": {"type": "string"},
                "minItems": self.nargs,
                "maxItems": self.nargs,
            }
        elif self.multiple:
            sch = {"type": "array", "items": item}
        else:
            sch = dict(item)
        sch["description"] = self.help
        return sch


Handler = Callable[["Workspace", dict[str, Any]], Any]
TextRenderer = Callable[[Any], str]


class Capability(msgspec.Struct, frozen=True):
    """One verb. ``path`` is its CLI words; the MCP tool is ``cw_`` + the words joined by ``_``."""

    name: str
    path: tuple[str, ...]
    summary: str
    params: tuple[Param, ...]
    entry: Handler
    read_only: bool
    text: TextRenderer | None = None
    description: str = ""
    mcp: bool = True
    examples: tuple[str, ...] = ()
    exit_code: Callable[[Any], int] | None = None  # a read verb that reports problems (ledger verify)
    output_schema: str | None = None  # the schemas/ file its payload validates against
    derived_write: bool = False  # writes only a derived snapshot, skipped in a read-only workspace

    @property
    def tool_name(self) -> str:
        return "cw_" + "_".join(w.replace("-", "_") for w in self.path)

    def input_schema(self) -> dict[str, Any]:
        props = {p.mcp_key: p.json_schema() for p in self.params if p.mcp}
        required = [p.mcp_key for p in self.params if p.mcp and p.required_in_mcp]
        sch: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            sch["required"] = required
        return sch


# Parameters shared by many verbs.
CWD = Param("cwd", "the repo directory to work in (default: the current directory)", metavar="DIR")
NOW = Param(
    "now",
    'the time to treat as "now": an ISO 8601 time with a zone (e.g. 2026-06-08T10:00:00Z), years 1000 to 9998; '
    "for stable, repeatable output",
    metavar="ISO",
)
RUN = Param("run_id", "the run's id", positional=True, required=True, metavar="RUN", mcp_name="runId")
SCOPE = Param(
    "scope",
    "which repos to read: this repo, or every repo in the home registry",
    choices=("repo", "home"),
    default="repo",
)
PRICING = Param(
    "pricing",
    "the pricing policy: a name (default = the bundled one, cw-example = Cool Workflow's bundled example, "
    "none = no policy) or a file; default: the config's, else the bundled one",
    metavar="NAME|FILE",
)

# Time windows and periods (cw.core.timeline).
FX = Param(
    "fx",
    "the FX policy for conversions: a name (default = the bundled one, none = no policy) or a file; "
    "default: the config's, else the bundled one",
    metavar="NAME|FILE",
)
SINCE = Param("since", "only what happened at or after this (YYYY-MM-DD or ISO time, read in --tz)", metavar="DATE|ISO")
UNTIL = Param("until", "only what happened before this (exclusive; YYYY-MM-DD or ISO time)", metavar="DATE|ISO")
TZ = Param(
    "tz",
    "the time zone dates and periods are read in (IANA name; default: the config's timezone, else UTC)",
    metavar="ZONE",
)
PERIOD = Param("period", "also break the figures down per calendar period", choices=("day", "week", "month"))
WEEK_START = Param("week_start", "the day weeks start on, with --period week (default monday)", metavar="DAY")
WINDOW = (SINCE, UNTIL, TZ)
