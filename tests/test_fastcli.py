"""The click-free fast path (``cw.surfaces.fastcli``) is click, minus click.

For every verb and generated command lines, the fast parser either declines or yields exactly the values
(and order) click's context holds and the same handler arguments; real commands run through both paths
print the same bytes, exit with the same codes and leave the same files.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import msgspec
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cw.capabilities import all_capabilities, capability_at
from cw.capabilities.table import Capability, Param
from cw.model.errors import CwError, NotFoundError, UsageError
from cw.surfaces import cli, cliverb, fastcli
from cw.surfaces.cliverb import adds_format_option, one_verb, run_verb


class Reached(BaseException):
    """Raised by the recording handler: what the handler was called with (a BaseException, so no surface
    turns it into a message)."""

    def __init__(self, params: dict[str, Any] | None, args: dict[str, Any]) -> None:
        super().__init__()
        self.params = params
        self.given = args


def _record(ws: Any, args: dict[str, Any]) -> Any:
    ctx = click.get_current_context(silent=True)
    raise Reached(None if ctx is None else dict(ctx.params), args)


def recording(cap: Capability) -> Capability:
    return msgspec.structs.replace(cap, entry=_record)


def click_root(cap: Capability) -> click.Group:
    root = cli._root()
    cli._add(root, recording(cap))
    return root


def by_click(root: click.Group, cap: Capability, argv: list[str]) -> tuple[list, list] | None:
    """(the context's values, the handler's arguments) when click runs the verb; None when it refuses or helps."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            root.main([*cap.path, *argv], prog_name="cw", standalone_mode=False)
        except Reached as r:
            assert r.params is not None
            return list(r.params.items()), list(r.given.items())
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            return None
    return None


def by_fast(cap: Capability, argv: list[str]) -> tuple[list, list] | None:
    params = fastcli.parse(cap, argv)
    if params is None:
        return None
    try:
        run_verb(recording(cap), params)
    except Reached as r:
        assert r.params is None, "the fast path has no click context"
        return list(params.items()), list(r.given.items())
    raise AssertionError("the handler was not called")


# --- the parser, against click --------------------------------------------------------------------------

WORDS = ["r1", "t1", "out.md", "a b", "x=y", "é", "0", "12", "1.5"]
ODD = ["", " ", "-x", "-", "--", "--json", "-h", "--help", "--version", "--nope", "\udcff", "a\udcff", "-o", "=", "-1"]


def _spellings(cap: Capability) -> list[str]:
    opts = [p for p in cap.params if p.cli and not p.positional]
    out = [p.flag for p in opts] + [p.cli_short for p in opts if p.cli_short]
    return [*out, "--format"] if adds_format_option(cap) else out


def _option(p: Param) -> st.SearchStrategy[list[str]]:
    """One well-formed use of an option: ``--flag``, ``--flag VALUE``, ``--flag=VALUE`` or ``-o VALUE``."""
    spelling = st.sampled_from([p.flag, *([p.cli_short] if p.cli_short else [])])
    if p.type == "boolean":
        return spelling.map(lambda f: [f])
    value = st.sampled_from(p.choices or WORDS)
    return st.tuples(spelling, value, st.booleans()).map(
        lambda t: [f"{t[0]}={t[1]}"] if t[2] and t[0].startswith("--") else [t[0], t[1]]
    )


def _good_units(cap: Capability) -> st.SearchStrategy[list[list[str]]]:
    """A command line click takes (values aside): every required argument and option, some others."""
    params = [p for p in cap.params if p.cli]
    if adds_format_option(cap):
        params.append(fastcli._FORMAT)
    parts: list[st.SearchStrategy[list[list[str]]]] = []
    for p in params:
        if p.positional:
            n = (0, 3) if p.multiple else (1, 1) if p.required else (0, 1)
            parts.append(st.lists(st.sampled_from(WORDS).map(lambda w: [w]), min_size=n[0], max_size=n[1]))
        else:
            parts.append(st.lists(_option(p), min_size=1 if p.required else 0, max_size=2 if p.multiple else 1))
    return st.tuples(*parts).map(lambda ps: [u for part in ps for u in part])


def command_lines(cap: Capability) -> st.SearchStrategy[list[str]]:
    """Well-formed command lines, the same with a bit of noise, and mixes of the verb's options (good and bad
    values, `=` forms, repeated), positionals and junk; option order shuffled."""
    params = [p for p in cap.params if p.cli]
    choices = sorted({c for p in params for c in (p.choices or ())} | {"text", "json"})
    value = st.sampled_from(WORDS + choices) | st.sampled_from(ODD) | st.text(max_size=3)
    flag = st.sampled_from(_spellings(cap))
    noise = st.one_of(
        flag.map(lambda f: [f]),
        st.tuples(flag, value).map(list),
        st.tuples(flag, value).map(lambda fv: [f"{fv[0]}={fv[1]}"]),
        st.sampled_from(WORDS).map(lambda w: [w]),
        value.map(lambda v: [v]),
    )
    good = _good_units(cap)
    units = st.one_of(
        good,
        st.tuples(good, noise).map(lambda t: [*t[0], t[1]]),
        st.lists(noise, max_size=7),
        st.tuples(good, st.lists(noise, max_size=3)).map(lambda t: t[0] + t[1]),
    )
    return units.flatmap(st.permutations).map(lambda us: [tok for u in us for tok in u])


@pytest.mark.parametrize("cap", all_capabilities(), ids=lambda c: c.name)
@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_parser_declines_or_agrees_with_click(cap, data):
    root = click_root(cap)
    argv = data.draw(command_lines(cap), label="argv")
    fast = by_fast(cap, argv)
    event("fast path" if fast is not None else "declined")
    if fast is not None:
        assert by_click(root, cap, argv) == fast, argv


COMMON = [
    ["run", "new", "--id", "r1", "--app", "x", "--json"],
    ["run", "new", "--app=x", "--title", "a title", "--parent", "p1", "--parent", "p2"],
    ["task", "add", "r1", "t1", "--backend", "codex"],
    ["task", "add", "--json", "r1", "t1"],
    ["dispatch", "r1", "t1", "t2", "t3", "--backend", "claude"],
    ["dispatch", "r1"],
    ["result", "r1", "t1", "out.md", "--usage-input-tokens", "1200", "--usage-output-tokens=300", "--json"],
    ["result", "r1", "t1", "out.md", "--usage-model", "gpt-5", "--usage-source", "host-attested", "--replace"],
    ["worker", "output", "r1", "w1", "out.md"],
    ["metrics", "show", "r1", "--json"],
    ["metrics", "show", "--format", "json", "r1", "--now", "2026-12-01T00:00:00Z"],
    ["metrics", "show"],
    ["metrics", "summary", "--scope", "home", "--limit", "5", "--format=text"],
    ["run", "list"],
    ["run", "link", "r1", "--parent", "r0"],
    ["member", "add", "r1", "--agent", "a1"],
    ["pricing", "import", "--from", "genai-prices", "-o", "p.json", "--model", "m1", "--model", "m2"],
    ["export", "--format", "csv", "-o", "x.csv"],
    ["ledger", "verify", "--json"],
    ["budget", "set", "--actor", "a", "--period", "day", "--tokens", "5"],  # a subverb: its own group
]


@pytest.mark.parametrize("argv", COMMON, ids=" ".join)
def test_common_command_lines_take_the_fast_path_with_clicks_values(argv):
    cap = one_verb(argv)
    assert cap is not None
    fast = by_fast(cap, argv[len(cap.path) :])
    assert fast is not None, "the fast path declined a plain command line"
    assert by_click(click_root(cap), cap, argv[len(cap.path) :]) == fast


DECLINED = [
    [],
    ["--version", "result"],
    ["--help"],
    ["nope", "r1"],
    ["task"],
    ["budget", "r1"],
    ["budget", "show", "r1"],
    ["mcp"],
    ["workbench", "--port", "0"],
    ["cron-run", "nightly", "--", "true"],
    ["result", "--help"],
    ["result", "r1", "t1", "out.md", "-h"],
    ["result", "r1", "t1", "out.md", "--"],
    ["result", "r1", "t1", "-"],
    ["result", "r1", "t1"],
    ["result", "r1", "t1", "out.md", "extra"],
    ["result", "r1", "t1", "out.md", "--usage-note", "-x"],
    ["result", "r1", "t1", "out.md", "--usage-note"],
    ["result", "r1", "t1", "out.md", "--usage-note", ""],
    ["result", "r1", "t1", "out.md", "--usage-note=  "],
    ["result", "r1", "t1", "out.md", "--usage-note", "a\udcff"],
    ["result", "r1", "", "out.md"],
    ["result", "r1", "t1", "out.md", "--usage-model", "a", "--usage-model", "b"],
    ["result", "r1", "t1", "out.md", "--replace", "--replace"],
    ["result", "r1", "t1", "out.md", "--json=1"],
    ["result", "r1", "t1", "out.md", "--usage-source", "guessed"],
    ["result", "r1", "t1", "out.md", "--format", "yaml"],
    ["result", "r1", "t1", "out.md", "--usage-input"],
    ["run", "new", "--cost-budget", "2.50", "USD"],
    ["run", "link", "r1"],
    ["pricing", "import", "--from", "genai-prices", "-op.json"],
    ["pricing", "import", "--from", "genai-prices", "-o=p.json"],
    ["export", "--format", "csv", "--format", "jsonl"],
]


@pytest.mark.parametrize("argv", DECLINED, ids=repr)
def test_odd_command_lines_are_left_to_click(argv, monkeypatch):
    monkeypatch.setattr(cliverb, "run_verb", lambda *a: pytest.fail("the fast path ran a command it should decline"))
    monkeypatch.setattr(fastcli, "run_verb", cliverb.run_verb)
    assert fastcli.try_run(argv) is None


def test_the_switches_that_turn_it_off(monkeypatch):
    argv = ["metrics", "show", "r1"]
    monkeypatch.setattr(fastcli, "run_verb", lambda *a: pytest.fail("ran"))
    for var in ("CW_NO_FAST_CLI", "_CW_COMPLETE"):  # a forced click path; click's shell completion
        with monkeypatch.context() as m:
            m.setenv(var, "1")
            assert fastcli.try_run(argv) is None


def test_verbs_that_need_the_whole_tree_never_take_the_fast_path():
    for cap in all_capabilities():
        nested = any(" ".join(c.path).startswith(" ".join(cap.path) + " ") for c in all_capabilities())
        assert (one_verb([*cap.path, "x"]) is None) == nested, cap.name
        assert (cli.group_for([*cap.path, "x"]) is cli.full_cli()) == nested


def test_click_passes_number_options_as_text():
    # `type="integer"` Params get no click type: the handler checks the text, on every surface alike
    cap = capability_at(["result"])
    assert cap is not None
    got = by_click(click_root(cap), cap, ["r1", "t1", "f", "--usage-input-tokens", "012"])
    assert got is not None and ("usage_input_tokens", "012") in got[1]
    assert got == by_fast(cap, ["r1", "t1", "f", "--usage-input-tokens", "012"])


# --- what the user sees: in-process, every kind of failure ---------------------------------------------


def _raising(exc: BaseException):
    def entry(ws: Any, args: dict[str, Any]) -> Any:
        raise exc

    return entry


FAILURES = [
    CwError("Cannot do that.", hint="cw run show r1"),
    NotFoundError("Run not found: r1"),
    UsageError("Invalid --now: nope."),
    CwError("an \x1b[31mescape\x1b[0m in a message"),
    OSError(errno.EACCES, "Permission denied", "/x/state.json"),
    BrokenPipeError(errno.EPIPE, "Broken pipe"),
    ValueError("boom \x1b[1m"),
    KeyboardInterrupt(),
]


@pytest.mark.parametrize("exc", FAILURES, ids=lambda e: type(e).__name__)
def test_failures_read_the_same_on_both_paths(exc, cw, repo, monkeypatch):
    real = capability_at
    monkeypatch.setattr(cliverb, "capability_at", lambda w: msgspec.structs.replace(real(w), entry=_raising(exc)))
    fast = cw("task", "add", "r1", "t1")
    slow = cw("task", "add", "r1", "t1", env={"CW_NO_FAST_CLI": "1"})
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)
    assert fast.exit_code != 0 and bool(fast.stderr) != isinstance(exc, BrokenPipeError)


def test_a_bug_shows_its_traceback_under_cw_debug_on_both_paths(cw, repo, monkeypatch):
    real = capability_at
    monkeypatch.setattr(
        cliverb, "capability_at", lambda w: msgspec.structs.replace(real(w), entry=_raising(KeyError("k")))
    )
    for env in ({"CW_DEBUG": "1"}, {"CW_DEBUG": "1", "CW_NO_FAST_CLI": "1"}):
        with pytest.raises(KeyError):
            cw("task", "add", "r1", "t1", env=env)


def test_output_with_an_escape_is_stripped_as_click_strips_it(cw, repo, monkeypatch):
    real = capability_at

    def shout(w: list[str]) -> Capability:
        return msgspec.structs.replace(
            real(w), entry=lambda ws, a: {"x": 1}, text=lambda p: "\x1b[1mbold\x1b[0m and \x1b"
        )

    monkeypatch.setattr(cliverb, "capability_at", shout)
    fast = cw("task", "add", "r1", "t1")
    slow = cw("task", "add", "r1", "t1", env={"CW_NO_FAST_CLI": "1"})
    assert (fast.exit_code, fast.stdout) == (slow.exit_code, slow.stdout) == (0, "bold and \x1b\n")


# --- real commands, whole processes -------------------------------------------------------------------

NOW = "2026-12-01T00:00:00Z"
STEPS: list[list[str]] = [
    ["run", "new", "--id", "r1", "--app", "shop", "--title", "a run"],
    ["task", "add", "r1", "t1", "--backend", "codex"],
    ["task", "add", "r1", "t2", "--json"],
    ["task", "add", "r1", "t3", "--kind", "review", "--format", "json"],
    ["task", "add", "nope", "t1"],  # refused: no such run (with a hint)
    ["task", "add", "r1"],  # click's usage error
    ["dispatch", "r1", "t1", "t2", "--json"],
    ["result", "r1", "t1", "out.md", "--usage-input-tokens", "1200", "--usage-output-tokens=300", "--json"],
    ["result", "r1", "t1", "out.md", "--usage-input-tokens", "5"],  # refused: already recorded
    ["result", "r1", "t2", "out.md", "--usage-input-tokens", "lots"],  # cw's usage error
    ["result", "r1", "t2", "out.md", "--usage-input-tokens", ""],  # CwCommand's empty-value error
    ["result", "r1", "t2", "missing.md"],  # refused: no such file
    ["result", "r1", "t2", "out.md", "--usage-model", "gpt-5", "--usage-source", "host-attested"],
    ["result", "r1", "t2", "out.md", "--help"],
    ["run", "new", "--id", "r2", "--app", "shop", "--parent", "r1", "--json"],
    ["run", "link", "r2", "--parent", "r1"],
    ["run", "show", "r1", "--now", NOW],
    ["run", "list", "--json", "--now", NOW],
    ["metrics", "show", "r1", "--json", "--now", NOW],
    ["metrics", "show", "r1", "--now", NOW],
    ["metrics", "show", "\x1b[31mr9", "--now", NOW],
    ["revenue", "add", "r1", "10.00", "USD", "--ref", "inv-1", "--at", NOW],
    ["ledger", "verify", "--now", NOW, "--json"],
    ["budget", "r1", "--now", NOW],
    ["metrics", "summary", "--now", NOW, "--format", "json"],
    ["pnl", "--now", NOW],
    ["export", "--format", "csv", "-o", "usage.csv", "--now", NOW],
    ["--version"],
]
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
_HASH = re.compile(r"sha256:[0-9a-f]{64}")  # a ledger hash covers its entry's recording time


def _same_times(text: str) -> str:
    return _HASH.sub("<H>", _ISO.sub("<T>", text))


def _world(root: Path) -> dict[str, str]:
    for d in ("repo", "home", "cwhome", "cache", "state"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "repo" / "out.md").write_text("done\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CW_NO_FAST_CLI", "CW_DEBUG", "NO_COLOR")}
    env.update(
        HOME=str(root / "home"),
        CW_HOME=str(root / "cwhome"),
        XDG_CACHE_HOME=str(root / "cache"),
        XDG_STATE_HOME=str(root / "state"),
    )
    return env


def _files(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            rel = str(p.relative_to(root))
            if not f.endswith(".lock") and not rel.startswith("cache"):  # the derived cache: not truth
                out[rel] = _same_times(p.read_bytes().decode("utf-8", "replace"))
    return out


def _cw(argv: list[str], world: Path, env: dict[str, str], **kw: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cw", *argv], cwd=world / "repo", env=env, **kw)


def test_real_commands_print_exit_and_write_the_same_on_both_paths(tmp_path):
    world, before = tmp_path / "world", tmp_path / "before"
    env = _world(world)
    codes = set()
    for argv in STEPS:
        shutil.rmtree(before, ignore_errors=True)
        shutil.copytree(world, before)
        seen = []
        for forced in (True, False):  # click first; then the fast path, from the same files
            if not forced:
                shutil.rmtree(world)
                shutil.copytree(before, world)
            res = _cw(argv, world, {**env, "CW_NO_FAST_CLI": "1"} if forced else env, capture_output=True)
            out, err = (_same_times(b.decode("utf-8", "replace")) for b in (res.stdout, res.stderr))
            seen.append((res.returncode, out, err, _files(world)))
        assert seen[0] == seen[1], argv
        codes.add(seen[0][0])
    assert codes == {0, 1, 2}, "the steps cover success, a refusal and usage errors"
    fast = [a for a in STEPS if (c := one_verb(a)) is not None and fastcli.parse(c, a[len(c.path) :]) is not None]
    assert len(fast) >= 18, "most steps take the fast path"


def test_a_coloured_error_on_a_terminal_is_the_same_on_both_paths(tmp_path):
    import pty

    env = _world(tmp_path / "world")
    got = []
    for extra in ({}, {"CW_NO_FAST_CLI": "1"}):
        master, slave = pty.openpty()
        try:
            res = _cw(
                ["task", "add", "nope", "t1"],
                tmp_path / "world",
                {**env, **extra},
                stdout=subprocess.PIPE,
                stderr=slave,
            )
            os.close(slave)
            chunks = []
            with contextlib.suppress(OSError):  # EIO once the terminal has nothing more
                while chunk := os.read(master, 4096):
                    chunks.append(chunk)
        finally:
            os.close(master)
        got.append((res.returncode, res.stdout, b"".join(chunks)))
    assert got[0] == got[1]
    assert b"\x1b[31m" in got[0][2] and got[0][0] == 1
