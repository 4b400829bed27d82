"""User settings: one default pricing policy, FX policy, reporting currency and time zone for every verb.

Two optional TOML files, read with ``tomllib``::

    $CW_HOME/config.toml          the user's defaults, for every repo
    <repo>/.cw/config.toml        one repo's defaults (win over the user's)

with any of these top-level keys::

    pricing  = "default"          # a policy name (default, none, ...) or a file
    fx       = "default"          # the same for the FX policy
    currency = "EUR"              # the reporting currency of cw pnl and metrics show's net
    timezone = "Europe/Berlin"    # an IANA zone, for dates shown to people

A flag always wins over both files; without either, pricing and FX are the
bundled policies, the currency USD and the zone UTC. A relative file path
in a config file is read relative to the folder holding that file. Every
output that prices names the policy it used and where that choice came from
(``pricingPolicy {name, id, from}``); ``--pricing none`` keeps CW's reading
(no policy, so attested usage is ``unpriced``).

A config file that cannot be read or parsed, an unknown key, or a value of
the wrong kind is a usage error naming the file and the key.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from cw.model.errors import UsageError

CONFIG_FILE = "config.toml"
BUILT_IN = "built-in"
DEFAULTS: Mapping[str, str] = {"pricing": "default", "fx": "default", "currency": "USD", "timezone": "UTC"}
_MAX_BYTES = 1 << 20


class Setting(msgspec.Struct, frozen=True):
    """One effective setting: its value and where it came from (``flag``, a config file, or ``built-in``)."""

    value: str
    origin: str
    base: Path | None = None  # the folder a relative file path in ``value`` is read from (None: the process cwd)


def _check(key: str, value: Any, path: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f'Invalid {path}: "{key}" must be a non-empty string.')
    if "\x00" in value:
        raise UsageError(f'Invalid {path}: "{key}" contains a NUL byte.')
    if key == "currency":
        from cw.core.currency import parse_currency  # these three only once a config file exists

        parse_currency(value, flag=f'"currency" in {path}')
    if key == "timezone":
        check_timezone(value, f'"timezone" in {path}')
    return value


def check_timezone(value: str, where: str) -> str:
    """An IANA time zone name (``UTC``, ``Europe/Berlin``)."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(f'Invalid {where}: "{value}" is not an IANA time zone (e.g. UTC, Europe/Berlin).') from None
    return value


def read_config(path: Path) -> dict[str, str]:
    """The settings one file gives (empty when it does not exist)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"Cannot read {path}: it is not a regular file.")
    if st.st_size > _MAX_BYTES:
        raise UsageError(f"Cannot read {path}: larger than 1 MiB, which no config file needs.")
    import tomllib

    try:
        doc = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"Invalid TOML in {path}: {exc}") from None
    unknown = sorted(set(doc) - set(DEFAULTS))
    if unknown:
        raise UsageError(f'Invalid {path}: unknown key "{unknown[0]}"; expected {", ".join(DEFAULTS)}.')
    return {k: _check(k, v, path) for k, v in doc.items()}


class Config(msgspec.Struct, frozen=True):
    """The effective settings for one command: flag > repo config > user config > built-in."""

    files: tuple[tuple[Path, dict[str, str]], ...]  # most specific first

    def get(self, key: str, flag: Any = None) -> Setting:
        if isinstance(flag, str) and flag.strip():
            return Setting(flag, "flag")
        for path, values in self.files:
            if key in values:
                return Setting(values[key], str(path), path.parent)
        return Setting(DEFAULTS[key], BUILT_IN)


def config_paths(home: Path, repo: Path | None) -> list[Path]:
    out = []
    if repo is not None:
        out.append(repo / ".cw" / CONFIG_FILE)
    out.append(home / CONFIG_FILE)
    return out


def load_config(home: Path, repo: Path | None) -> Config:
    return Config(tuple((p, read_config(p)) for p in config_paths(home, repo)))
