"""Bad input, fuzzed: whatever a caller passes, cw answers with a documented refusal, never a traceback.

Hypothesis generates CLI arguments for every verb, state.json contents,
pricing and FX policies, revenue amounts and currencies, and MCP tool
arguments (through the MCP server's own ``call_tool``, in-process). Every
outcome must be one of:

* exit 0;
* exit 1 or 2 with a message starting ``cw: `` on stderr and nothing on
  stdout (``ledger verify`` alone prints its payload when it exits 1), or
  click's usage-error format (``Usage: ...`` / ``Error: ...``) with exit 2;

never exit 70 ("internal error"), an uncaught exception or a Python
traceback. A refusal writes nothing (every file under the repo and the home
is compared before and after), except the two refusals cw documents as
recording their verdict (a result rejected by the accept pipeline, a worker
output outside its boundary). A write that succeeds leaves a state cw can
read back. MCP errors carry the same kind of message and also write nothing.

Each example runs in a sandbox restored after any change, so examples do
not depend on each other. The default run generates more than 10,000 cases
in all; ``--heavy`` five times as many. The counts are printed
(``reliability: fuzz ...``).

Known bugs: an internal error whose text matches an entry of ``KNOWN_BUGS``
is counted, not failed, because each has its own strict-xfail test (named
in the table); when a bug is fixed, that test starts passing, fails as
XPASS, and its line here must go too. The table is empty now: the bugs these
fuzzers found are fixed and pinned by the regression tests at the end.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import string
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import tree_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_worker import build_template, clone

from cw.capabilities import all_capabilities
from cw.core.currency import MINOR_UNITS

# Bugs the fuzzers found and that are not fixed yet: (verbs it shows in, or ANY; text of the internal error)
# -> the strict-xfail test that pins it down. The bugs found earlier are fixed; their tests are plain
# regression tests below (test_a_nul_byte_..., test_undecodable_..., test_state_records_...).
ANY = None
KNOWN_BUGS: dict[tuple[frozenset[str] | None, str], str] = {}

RESULT_TEXT = "done\n"
# verbs the fuzzer must not run: they start servers or other programs
NOT_FUZZED = {"workbench", "mcp", "cron-run"}
PROFILE = {"default": 1, "heavy": 5}


def _examples(heavy: bool, n: int) -> int:
    return n * PROFILE["heavy" if heavy else "default"]


# ---------------------------------------------------------------------------
# the sandbox and the outcome check


class Sandbox:
    """A prepared repo and home; ``restore`` puts both back exactly as prepared."""

    def __init__(self, repo: Path, home: Path, keep: Path) -> None:
        self.repo, self.home, self.keep = repo, home, keep
        self.runner = CliRunner()
        from cw.surfaces.cli import cli

        self.cli = cli
        self.cases = 0
        self.outcomes: dict[str, int] = {}
        self.known: dict[str, int] = {}
        self.freeze()

    def freeze(self) -> None:
        shutil.rmtree(self.keep, ignore_errors=True)
        self.keep.mkdir(parents=True)
        for name, root in (("repo", self.repo), ("home", self.home)):
            root.mkdir(parents=True, exist_ok=True)
            shutil.copytree(root, self.keep / name, symlinks=True)
        self.baseline = self.files()

    def files(self) -> tuple[dict[str, bytes], dict[str, bytes]]:
        return tree_bytes(self.repo), tree_bytes(self.home)

    def restore(self) -> None:
        for name, root in (("repo", self.repo), ("home", self.home)):
            for child in list(root.iterdir()):
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            shutil.copytree(self.keep / name, root, symlinks=True, dirs_exist_ok=True)

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> Any:
        return self.runner.invoke(self.cli, argv, env=env, catch_exceptions=True)

    def count(self, outcome: str) -> None:
        self.cases += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def report(self, name: str, started: float) -> str:
        known = f" knownBugHits={self.known}" if self.known else ""
        return (
            f"reliability: fuzz {name} cases={self.cases} outcomes={dict(sorted(self.outcomes.items()))}"
            f"{known} seconds={time.monotonic() - started:.1f}"
        )


def _known(text: str, box: Sandbox, verb: str = "") -> bool:
    """Whether ``text`` is the internal error of a bug already pinned by a strict-xfail test (counted in ``box``)."""
    for verbs, needle in KNOWN_BUGS:
        if needle in text and (verbs is ANY or verb in verbs):
            key = f"{verb or 'mcp'}: {needle}"
            box.known[key] = box.known.get(key, 0) + 1
            return True
    return False


def _verb(argv: list[str]) -> str:
    return (
        " ".join(argv[:2])
        if argv and argv[0] in {c.path[0] for c in FUZZED if len(c.path) > 1}
        else (argv[0] if argv else "")
    )


CLICK_USAGE = ("Usage: ", "Error: ")  # click's own usage errors (unknown option, missing argument, ...)
RECORDS_VERDICT = ("must be its own result file", "requires grounded cw:result evidence")


def _changed(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def check_cli(
    box: Sandbox, argv: list[str], env: dict[str, str] | None = None, inspect: Callable[[Any], None] | None = None
) -> Any:
    """Run ``cw argv`` in the sandbox, assert the outcome is documented, then restore the sandbox.

    ``inspect(result)`` runs before the restore, to check what a success wrote.
    """
    res = box.run(argv, env)
    shown = f"cw {argv!r} (env {env}) -> exit {res.exit_code}\nstdout={res.stdout[-800:]!r}\nstderr={res.stderr!r}"
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise AssertionError(f"uncaught {type(res.exception).__name__}: {res.exception}\n{shown}")
    after = box.files()
    if res.exit_code == 70 and _known(res.stderr, box, _verb(argv)):
        box.count("known-bug")
    else:
        text = res.stdout + res.stderr
        assert res.exit_code in (0, 1, 2), shown
        assert "Traceback" not in text and "internal error" not in text, shown
        changed = _changed(box.baseline[0], after[0]) + [f"home:{k}" for k in _changed(box.baseline[1], after[1])]
        if res.exit_code:
            verify_report = argv[:2] == ["ledger", "verify"] and res.exit_code == 1 and res.stderr == ""
            if not verify_report:
                assert res.stdout == "", f"a refusal printed data\n{shown}"
                assert res.stderr.startswith("cw: ") or (res.exit_code == 2 and res.stderr.startswith(CLICK_USAGE)), (
                    shown
                )
            if changed and not any(m in res.stderr for m in RECORDS_VERDICT):
                raise AssertionError(f"a refusal changed files {changed[:5]}\n{shown}")
        for name in (k for k in changed if k.endswith("/state.json") and k in after[0]):
            back = box.run(["run", "show", name.split("/")[-2], "--json"])
            assert back.exit_code == 0 or (back.exit_code == 70 and _known(back.stderr, box, "run show")), (
                f"a write left {name} unreadable: {back.stderr}\n{shown}"
            )
        if inspect is not None:
            inspect(res)
        box.count(f"exit{res.exit_code}")
    if after != box.baseline:
        box.restore()
    return res


def _build_box(cw, repo: Path) -> None:
    """Run ``r`` with every kind of record, a parent ``p``, a booking and a result file."""
    cw.ok("run", "new", "--id", "p", "--actor", "alice")
    cw.ok("run", "new", "--id", "r", "--parent", "p", "--token-budget", "100000", "--cost-budget", "5.00", "USD")
    for t in ("t1", "t2", "t3"):
        cw.ok("task", "add", "r", t)
    cw.ok("dispatch", "r", "t1", "t2")
    (repo / "res.md").write_text(RESULT_TEXT)
    cw.ok("result", "r", "t1", "res.md", "--usage-input-tokens", "100", "--usage-model", "claude-sonnet-4-5")
    cw.ok("candidate", "register", "r", "--task", "t1", "--id", "c1")
    cw.ok("feedback", "open", "r", "--message", "look")
    cw.ok("member", "add", "r", "--agent", "a1")
    cw.ok("revenue", "add", "r", "10.00", "USD", "--ref", "INV-1", "--at", "2025-10-22T00:00:00Z")


@pytest.fixture(scope="module")
def box_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("box"), _build_box)


@pytest.fixture
def box(cw, box_template: Path, repo: Path, isolated_home: Path, tmp_path: Path) -> Sandbox:
    """The sandbox: a copy of ``_build_box``'s repo, registered in the (isolated) home registry."""
    clone(box_template, repo)
    cw.ok("registry", "add")
    return Sandbox(repo, isolated_home, tmp_path / "keep")


FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

# ---------------------------------------------------------------------------
# strategies

SPECIAL = [
    "",
    " ",
    "-",
    "--",
    "-5",
    "+5",
    "1e3",
    "0x10",
    "1_000",
    "1.5",
    "007",
    "NaN",
    "Infinity",
    "-0",
    "0",
    "99999999999999999999999",
    "../x",
    "../../etc/passwd",
    "/etc/passwd",
    "/",
    ".",
    "..",
    "a/b",
    "~",
    "r",
    "p",
    "t1",
    "t2",
    "t3",
    "worker-t1-0001",
    "worker-t2-0001",
    "c1",
    "feedback-0001",
    "membership-0001",
    "rev-0001",
    "rev-0002",
    "USD",
    "usd",
    "EUR",
    "JPY",
    "XAU",
    "10.00",
    "0.01",
    "5",
    "default",
    "bundled",
    "res.md",
    "true",
    "null",
    "{}",
    "[]",
    "2026-06-08T10:00:00Z",
    "2026-13-45T99:00:00Z",
    "x" * 300,
    "é",
    "𝟙",
    "١٢٣",
    "\u202e",
    "a\tb",
    "a\nb",
    "'; rm -rf /",
    "%s%n",
    "${HOME}",
]
SAFE_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=16)


def _junk_pool(n: int = 160) -> list[str]:
    """Odd strings made once from a fixed seed: cheap for hypothesis to pick from (one draw each)."""
    rng = random.Random(20261122)
    alphabets = [
        string.printable,
        "0123456789.-+eE,_ ",
        "../\\~:",
        "éüßøΩЖ中文🙂\u202e\u200b\ufeff\t\r\n\x1b",
        string.ascii_letters + string.digits + "._:-",
    ]
    return [
        "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.choice([1, 2, 3, 5, 8, 13, 40, 300])))
        for _ in range(n)
    ]


POOL = SPECIAL + [str(x) for x in (-1, 1, 2, 42, 10**6, 2**31, 2**63, -(2**63), 10**15, 10**16)] + _junk_pool()
POOL_S = st.sampled_from(POOL)
TOKEN = st.one_of(POOL_S, POOL_S, POOL_S, SAFE_TEXT)
# JSON values for MCP arguments and for damaging documents
VALUES = [
    *POOL,
    0,
    1,
    -1,
    5,
    2**53,
    10**30,
    -(10**30),
    0.5,
    -0.0,
    1e300,
    float("inf"),
    float("nan"),
    True,
    False,
    None,
    [],
    {},
    ["r"],
    ["t1", "t2"],
    [1, 2],
    ["5.00", "USD"],
    ["5.00"],
    [None],
    {"a": 1},
    {"runId": "r"},
    [[]],
    {"": ""},
]
VALUE_S = st.sampled_from(VALUES)


# plausible values per parameter name, so most examples get past parsing and into cw's own checks
GOOD: dict[str, list[str]] = {
    "run_id": ["r", "p", "ghost"],
    "task_id": ["t1", "t2", "t3", "t9"],
    "task_ids": ["t2", "t3", "t1"],
    "worker_id": ["worker-t1-0001", "worker-t2-0001"],
    "file": ["res.md", ".cw/runs/r/workers/worker-t2-0001/result.md"],
    "message": ["boom", " "],
    "target": ["t1", "r:verifier:t1"],
    "candidate_id": ["c1", "c2"],
    "feedback_id": ["feedback-0001"],
    "member_id": ["membership-0001"],
    "amount": ["5.00", "1.00", "10.00"],
    "currency": ["USD", "EUR"],
    "entry_id": ["rev-0001", "rev-0002"],
    "reason": ["why"],
    "node": ["n1"],
    "agent": ["a2"],
    "ref": ["INV-9", "INV-1"],
    "parent": ["p", "r"],
    "path": [".", "..", "nowhere"],
    "id": ["n1", "r", "c9"],
    "app": ["shop"],
    "title": ["T"],
    "token_budget": ["1000", "0"],
    "cost_budget": ["5.00", "USD"],
    "actor": ["alice", "cron:x"],
    "cwd": [".", "..", "nowhere"],
    "now": ["2026-06-08T12:00:00.000Z"],
    "pricing": ["default", "nope.json"],
    "fx": ["default", "nope.json"],
    "limit": ["3", "0"],
    "half_life": ["7d", "36h", "0"],
    "at": ["2026-01-01T00:00:00Z"],
    "note": ["n"],
    "run": ["r", "ghost"],
    "backend": ["shell"],
    "kind": ["task"],
    "phase": ["main"],
    "code": ["sandbox-x"],
    "worker": ["worker-t1-0001"],
    "task": ["t1"],
    "by": ["bob"],
    "usage_model": ["claude-sonnet-4-5"],
    "usage_attested_at": ["2026-06-08T10:00:00Z"],
    "usage_note": ["n"],
    "lifecycle": ["open"],
}


def _value(draw, p) -> str:
    pool = list(p.choices or ()) + GOOD.get(p.name, [])
    if p.type == "integer":
        pool += ["0", "1", "1200"]
    if pool and draw(st.integers(0, 2)):
        return draw(st.sampled_from(pool))
    return draw(TOKEN)


@st.composite
def argvs(draw) -> list[str]:
    """A command line shaped like the verb's own (its positionals and options), with junk mixed in."""
    cap = draw(st.sampled_from(FUZZED))
    argv = list(cap.path)
    for p in (p for p in cap.params if p.cli):
        if p.positional:
            n = draw(st.integers(0, 2)) if p.multiple else int(draw(st.integers(0, 9)) > 0)
            argv += [_value(draw, p) for _ in range(n)]
        elif draw(st.integers(0, 3)) == 0:
            argv.append(p.flag)
            if p.type != "boolean":
                argv += [_value(draw, p) for _ in range(p.nargs)]
    for _ in range(draw(st.integers(0, 1)) * draw(st.integers(1, 2))):
        junk = draw(st.one_of(TOKEN, st.sampled_from(GLOBAL_JUNK)))
        argv.insert(draw(st.integers(len(cap.path), len(argv))), junk)
    return argv


FUZZED = [c for c in all_capabilities() if c.path[0] not in NOT_FUZZED]
GLOBAL_JUNK = ["--bogus", "-x", "--", "-h", "--help", "--version", "--json=1", "--cwd", "--cwd=.", "--now", "--format"]


# ---------------------------------------------------------------------------
# 1. CLI arguments


def test_fuzz_cli_arguments(box, heavy):
    started = time.monotonic()
    n = _examples(heavy, 1600)

    @settings(FUZZ, max_examples=n)
    @given(argv=argvs(), lock_timeout=st.one_of(st.none(), st.sampled_from(["", "0", "5", "-1", "abc", "1e9", "nan"])))
    def run(argv, lock_timeout):
        check_cli(box, argv, None if lock_timeout is None else {"CW_LOCK_TIMEOUT": lock_timeout})

    run()
    print(box.report("cli-arguments", started))
    assert box.cases >= n


# ---------------------------------------------------------------------------
# 2. state.json contents

_LEAF = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | SAFE_TEXT
_NEST = st.lists(_LEAF, max_size=4) | st.dictionaries(SAFE_TEXT, _LEAF, max_size=4)
JSON = _LEAF | st.lists(_LEAF | _NEST, max_size=3) | st.dictionaries(SAFE_TEXT, _LEAF | _NEST, max_size=3)  # 3 levels
STATE_KEYS = [
    "schemaVersion",
    "id",
    "createdAt",
    "updatedAt",
    "cwd",
    "workflow",
    "inputs",
    "loopStage",
    "phases",
    "tasks",
    "dispatches",
    "commits",
    "paths",
    "nodes",
    "workers",
    "candidates",
    "feedback",
    "multiAgent",
    "collaboration",
    "actor",
    "parentRunIds",
    "budget",
    "revenue",
    "audit",
    "blackboard",
    "topologies",
    "candidateSelections",
]


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _set(doc: Any, path: tuple, value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


@st.composite
def state_bytes(draw, valid: dict[str, Any], paths: list[tuple]) -> bytes:
    """Damaged versions of a state cw wrote (``paths``: every path inside it), or other bytes altogether."""
    kind = draw(st.integers(0, 9))
    if kind == 0:  # any JSON at all
        return json.dumps(draw(JSON)).encode()
    if kind == 1:  # raw bytes, cut-short JSON, BOM, bad UTF-8, deep nesting
        good = json.dumps(valid).encode()
        return draw(
            st.sampled_from(
                [
                    b"",
                    b"\xef\xbb\xbf" + good,
                    good[: draw(st.integers(0, len(good)))],
                    good.replace(b'"r"', b'"\xff\xfe"'),
                    b"[" * 5000,
                    draw(st.binary(max_size=64)),
                ]
            )
        )
    doc = json.loads(json.dumps(valid))
    for _ in range(draw(st.integers(1, 3))):  # replace, delete or add, anywhere in the run cw wrote
        path = paths[draw(st.integers(0, len(paths) - 1))]
        try:
            if kind <= 4:
                doc = _set(doc, path, None, delete=True)
            elif kind <= 7:
                doc = _set(doc, path, draw(st.one_of(VALUE_S, VALUE_S, VALUE_S, JSON)), delete=False)
            else:
                doc[draw(st.sampled_from(STATE_KEYS))] = draw(st.one_of(VALUE_S, JSON))
        except (KeyError, IndexError, TypeError):  # an earlier change removed this path
            continue
    return json.dumps(doc).encode()


STATE_COMMANDS = [
    ["run", "show", "r", "--json"],
    ["run", "list", "--json"],
    ["metrics", "show", "r", "--pricing", "default"],
    ["metrics", "summary", "--pricing", "default", "--json"],
    ["ledger", "verify"],
    ["pnl", "--json"],
    ["pnl", "--by", "app"],
    ["budget", "r"],
    ["revenue", "list"],
    ["task", "add", "r", "t9"],
    ["dispatch", "r"],
    ["dispatch", "r", "t3", "--allow-unreported"],
    ["result", "r", "t2", "res.md", "--usage-input-tokens", "5"],
    ["worker", "output", "r", "worker-t2-0001", ".cw/runs/r/workers/worker-t2-0001/result.md"],
    ["worker", "fail", "r", "worker-t2-0001", "boom"],
    ["verify", "r", "t1", "--status", "failed"],
    ["candidate", "register", "r", "--task", "t1"],
    ["candidate", "select", "r", "c1"],
    ["candidate", "reject", "r", "c1", "--reason", "no"],
    ["feedback", "open", "r", "--message", "m"],
    ["feedback", "resolve", "r", "feedback-0001", "--node", "n"],
    ["member", "add", "r", "--agent", "z"],
    ["member", "set", "r", "membership-0001", "--status", "failed"],
    ["revenue", "add", "r", "1.00", "USD", "--ref", "NEW"],
    ["revenue", "reverse", "r", "rev-0001", "--reason", "x"],
    ["run", "link", "r", "--parent", "p"],
    ["run", "new", "--id", "g", "--parent", "r"],
    ["run", "link", "p", "--parent", "r"],
]


def test_fuzz_state_files(box, heavy):
    started = time.monotonic()
    n = _examples(heavy, 1000)
    state_file = box.repo / ".cw/runs/r/state.json"
    valid = json.loads(state_file.read_bytes())
    (box.repo / ".cw/runs/r/workers/worker-t2-0001").mkdir(parents=True, exist_ok=True)
    (box.repo / ".cw/runs/r/workers/worker-t2-0001/result.md").write_text(RESULT_TEXT)
    box.freeze()

    @settings(FUZZ, max_examples=n)
    @given(raw=state_bytes(valid, _paths(valid)[1:]), argv=st.sampled_from(STATE_COMMANDS))
    def run(raw, argv):
        state_file.write_bytes(raw)
        box.baseline = box.files()  # the damaged state is this example's starting point
        check_cli(box, argv)
        state_file.write_bytes(raw)

    try:
        run()
    finally:
        box.restore()
    print(box.report("state-files", started))
    assert box.cases >= n


# ---------------------------------------------------------------------------
# 3. pricing and FX policies

# well-formed policies, then (in most examples) one or two fields replaced, removed or added anywhere in them,
# so examples reach pricing and conversion as well as every refusal
PRICE = st.one_of(st.integers(0, 100), st.decimals(0, 100, places=3).map(float))
MODEL_ENTRY = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["claude-sonnet-4-5", "claude-opus-4-8", "m-rel", "other"]),
        "inputPerMillion": PRICE,
        "outputPerMillion": PRICE,
    },
    optional={
        "cacheReadPerMillion": PRICE,
        "cacheWritePerMillion": PRICE,
        "effectiveFrom": st.sampled_from(["2025-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z"]),
    },
)
PRICING = st.fixed_dictionaries(
    {"schemaVersion": st.just(1), "models": st.lists(MODEL_ENTRY, max_size=3)},
    optional={
        "id": st.sampled_from(["p1", "fuzz"]),
        "currency": st.just("USD"),
        "defaultPrice": st.fixed_dictionaries({"inputPerMillion": PRICE, "outputPerMillion": PRICE}),
    },
)
RATE = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("10000"), places=4).map(str)
FIXING = st.fixed_dictionaries(
    {
        "date": st.sampled_from(["2025-10-09", "2025-10-21", "2026-01-01"]),
        "perBase": st.dictionaries(st.sampled_from(["USD", "JPY", "GBP", "CHF"]), RATE, min_size=1, max_size=3),
    }
)
FX = st.fixed_dictionaries(
    {
        "schemaVersion": st.just(1),
        "id": st.sampled_from(["fx1", "fuzz"]),
        "source": st.just("tests"),
        "base": st.just("EUR"),
        "rates": st.lists(FIXING, min_size=1, max_size=3, unique_by=lambda f: f["date"]),
    },
    optional={"description": SAFE_TEXT},
)


@st.composite
def damaged(draw, valid: st.SearchStrategy) -> Any:
    """A valid document from ``valid``, left alone in a third of the examples, else with 1-2 changes."""
    # copies: _set edits in place, and a drawn value may be an object the strategy hands out again
    # (editing it would make the next example differ from the one hypothesis replays)
    doc = copy.deepcopy(draw(valid))
    for _ in range(draw(st.sampled_from([0, 1, 1, 2]))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if path and draw(st.booleans()):
            doc = _set(doc, path, None, delete=True)
        else:
            doc = _set(doc, path, copy.deepcopy(draw(st.one_of(VALUE_S, VALUE_S, JSON))), delete=False)
    return doc


POLICY_COMMANDS = [
    ["metrics", "show", "r", "--pricing", "{p}", "--json"],
    ["metrics", "summary", "--pricing", "{p}"],
    ["pnl", "--pricing", "{p}", "--json"],
    ["pnl", "--fx", "{f}", "--currency", "EUR"],
    ["pnl", "--fx", "{f}", "--pricing", "{p}", "--currency", "JPY", "--by", "run"],
    ["budget", "r", "--pricing", "{p}", "--fx", "{f}"],
    ["dispatch", "r", "t3", "--pricing", "{p}", "--fx", "{f}"],
]


def test_fuzz_pricing_and_fx_policies(box, heavy):
    started = time.monotonic()
    n = _examples(heavy, 600)
    pol, fx = box.keep.parent / "pricing.json", box.keep.parent / "fx.json"

    @settings(FUZZ, max_examples=n)
    @given(
        pricing=st.one_of(damaged(PRICING), damaged(PRICING), damaged(PRICING), st.binary(max_size=40)),
        fxdoc=damaged(FX),
        argv=st.sampled_from(POLICY_COMMANDS),
    )
    def run(pricing, fxdoc, argv):
        pol.write_bytes(pricing if isinstance(pricing, bytes) else json.dumps(pricing).encode())
        fx.write_text(json.dumps(fxdoc))
        check_cli(box, [a.format(p=str(pol), f=str(fx)) for a in argv])

    run()
    print(box.report("policies", started))
    assert box.cases >= n


# ---------------------------------------------------------------------------
# 4. revenue amounts and currencies


@st.composite
def bookings(draw) -> tuple[str, str]:
    """(amount, currency): mostly a real currency and an amount written for its precision (or one digit too
    many), else anything ``AMOUNT`` and ``CURRENCY`` hold."""
    currency = draw(
        st.sampled_from(["USD", "EUR", "JPY", "KWD", "CLF", "GBP"]) if draw(st.integers(0, 9)) < 7 else CURRENCY
    )
    places = MINOR_UNITS.get(currency, 2) + draw(st.sampled_from([0, 0, 0, 1]))
    whole, frac = draw(st.integers(0, 10**6)), draw(st.integers(0, 10**places - 1)) if places else 0
    valid = str(whole) + (f".{frac:0{places}d}"[: draw(st.integers(1, places)) + 1] if places else "")
    return (valid if draw(st.integers(0, 9)) < 7 else draw(AMOUNT)), currency


AMOUNT = st.one_of(
    st.sampled_from(
        [
            "10.00",
            "0.01",
            "1",
            "12.5",
            "0",
            "00.10",
            "-5.00",
            "+5.00",
            "1e2",
            "1E2",
            "1,000.00",
            "1_000",
            " 5.00",
            "5.00 ",
            "5.",
            ".5",
            "NaN",
            "Infinity",
            "١٢.٣٤",
            "５.00",
            "9" * 18 + ".99",
            "9" * 19,
            "0.001",
            "10.001",
            "5.000",
            "-0.00",
        ]
    ),
    st.text(alphabet="0123456789.,-+eE _", max_size=12),
    SAFE_TEXT,
)
CURRENCY = st.one_of(
    st.sampled_from(["USD", "EUR", "JPY", "KWD", "CLF", "GBP"]),
    st.sampled_from(["USD", "EUR", "JPY", "KWD", "CLF", "GBP"]),
    st.sampled_from(["BGN", "XAU", "XTS", "usd", "US", "USDD", "", " USD", "ZZZ"]),
    st.text(alphabet=string.ascii_letters, min_size=3, max_size=3),
    SAFE_TEXT,
)


def _canonical(amount: str, currency: str) -> str | None:
    """The stored text cw must write for a valid amount: exactly the typed value, every minor digit written."""
    places = MINOR_UNITS[currency]
    value = Decimal(amount)
    return f"{value:.{places}f}"


def test_fuzz_revenue_amounts_and_currencies(box, heavy):
    started = time.monotonic()
    n = _examples(heavy, 1300)
    state_file = box.repo / ".cw/runs/r/state.json"
    before = json.loads(state_file.read_bytes())["revenue"]["entries"]
    stored = [0]

    @settings(FUZZ, max_examples=n)
    @given(
        booking=bookings(),
        at=st.one_of(st.none(), st.none(), st.sampled_from(SPECIAL), SAFE_TEXT),
        note=st.one_of(st.none(), st.none(), SAFE_TEXT, st.sampled_from(["a\nb", "\x07", " padded "])),
        ref=st.one_of(st.sampled_from(["INV-2", "INV-2", "INV-1", " INV-3", ""]), SAFE_TEXT),
        reverse=st.booleans(),
    )
    def run(booking, at, note, ref, reverse):
        amount, currency = booking
        if reverse:
            argv = ["revenue", "reverse", "r", "rev-0001", "--amount", amount, "--reason", ref]
        else:
            argv = [
                "revenue",
                "add",
                "r",
                "--ref",
                ref,
                *(["--at", at] if at is not None else []),
                *(["--note", note] if note is not None else []),
                "--",
                amount,
                currency,
            ]

        def stored_exactly(res: Any) -> None:
            if res.exit_code:
                return
            entries = json.loads(state_file.read_bytes())["revenue"]["entries"]
            assert entries[:-1] == before, "a booking changed earlier entries"
            e, cur = entries[-1], "USD" if reverse else currency
            assert e["currency"] == cur and e["amount"] == ("-" if reverse else "") + _canonical(amount, cur), (argv, e)
            verify = box.run(["ledger", "verify", "--json"])
            assert verify.exit_code == 0, verify.stdout
            stored[0] += 1

        check_cli(box, argv, inspect=stored_exactly)

    run()
    print(box.report("revenue", started) + f" storedExactly={stored[0]}")
    assert box.cases >= n and stored[0] > 0


# ---------------------------------------------------------------------------
# 5. MCP tool arguments


def _tools() -> list[tuple[str, dict[str, Any]]]:
    from cw.surfaces.mcp_server import mcp_capabilities

    return [(c.tool_name, c.input_schema()["properties"]) for c in mcp_capabilities()]


@st.composite
def mcp_calls(draw, tools: list[tuple[str, dict[str, Any]]]) -> tuple[str, Any]:
    """A tool and its arguments.

    Hypothesis picks the tool, the shape of the call and a seed; the seed picks each declared key's value
    (absent, or one of ``VALUES``), which keeps a case cheap to generate. Some calls also get one key with
    hypothesis-generated text or JSON, a key the tool does not declare, or an unknown tool name.
    """
    name, props = draw(st.sampled_from(tools))
    mode = draw(st.integers(0, 19))
    if mode == 0:
        return draw(st.sampled_from([name, "cw_nope", "", "cw_workbench"])), draw(
            st.one_of(st.none(), st.dictionaries(SAFE_TEXT, JSON, max_size=3))
        )
    rng = random.Random(draw(st.integers(0, 2**32)))
    keys = sorted(props)
    args = {k: rng.choice(VALUES) for k in keys if rng.random() < 0.6}
    for k in ("runId", "taskId", "workerId"):  # plausible ids half the time, so calls get past the first check
        if k in props and rng.random() < 0.5:
            args[k] = rng.choice(GOOD[{"runId": "run_id", "taskId": "task_id", "workerId": "worker_id"}[k]])
    if mode <= 3 and keys:
        args[draw(st.sampled_from(keys))] = draw(st.one_of(SAFE_TEXT, JSON))
    elif mode == 4:
        args[draw(SAFE_TEXT)] = draw(VALUE_S)
    return name, args


def _tool_verb(tool: str) -> str:
    from cw.surfaces.mcp_server import find_tool

    cap = find_tool(tool)
    return " ".join(cap.path) if cap else tool


def test_fuzz_mcp_tool_arguments(box, heavy):
    from cw.surfaces.mcp_server import call_tool

    started = time.monotonic()
    n = _examples(heavy, 5500)
    tools = _tools()

    @settings(FUZZ, max_examples=n)
    @given(call=mcp_calls(tools))
    def run(call):
        name, args = call
        try:
            text, is_error = call_tool(name, args)
        except Exception as exc:
            raise AssertionError(f"call_tool({name!r}, {args!r}) raised {type(exc).__name__}: {exc}") from exc
        shown = f"call_tool({name!r}, {args!r}) -> {text[:600]!r}"
        after = box.files()
        if is_error and text.startswith("internal error") and _known(text, box, _tool_verb(name)):
            box.count("known-bug")
        else:
            assert "Traceback" not in text and not text.startswith("internal error"), shown
            if is_error:
                assert text and not text.startswith("{"), shown
                assert after == box.baseline or any(m in text for m in RECORDS_VERDICT), f"an MCP error wrote\n{shown}"
            else:
                json.loads(text)
            box.count("error" if is_error else "ok")
        if after != box.baseline:
            box.restore()

    run()
    print(box.report("mcp-arguments", started))
    assert box.cases >= n


# ---------------------------------------------------------------------------
# the bugs the fuzzers found, pinned: fixed ones are regression tests, an open one is a strict xfail


@pytest.mark.parametrize(
    "argv",
    [
        ["task", "add", "r", "t9", "--cwd", "a\x00b"],
        ["result", "r", "t2", "res\x00.md"],
        ["pnl", "--fx", "fx\x00.json"],
        ["registry", "add", "a\x00b"],
    ],
    ids=["--cwd", "result FILE", "--fx", "registry add PATH"],
)
def test_a_nul_byte_in_a_path_argument_is_a_usage_error(box, argv):
    """A shell cannot pass NUL, but MCP's JSON strings can ("\\u0000"): it must be refused, not reach os calls."""
    res = check_cli(box, argv)
    assert res.exit_code in (1, 2) and box.known == {}


UNDECODABLE_FILES = {
    "state.json": (".cw/runs/r/state.json", ["run", "show", "r"]),
    "revenue head": (".cw/runs/r/revenue.head.json", ["ledger", "verify"]),
    "telemetry ledger": (".cw/runs/r/telemetry.json", ["metrics", "show", "r"]),
    "pricing policy": ("bad-pricing.json", ["metrics", "show", "r", "--pricing", "bad-pricing.json"]),
    "home registry": ("home:registry/repos.json", ["registry", "list"]),
}
UNDECODABLE = {
    "invalid UTF-8 in a string": b'{"schemaVersion": 1, "runId": "r", "repos": [], "models": [], "x": "\xff"}',
    "nesting 5000 deep": b'{"schemaVersion": 1, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
}


@pytest.mark.parametrize("which", list(UNDECODABLE_FILES))
@pytest.mark.parametrize("kind", list(UNDECODABLE))
def test_undecodable_json_files_are_refused(box, which, kind):
    """msgspec raises UnicodeDecodeError or RecursionError here, not DecodeError: every reader must refuse them."""
    where, argv = UNDECODABLE_FILES[which]
    path = box.home / where[5:] if where.startswith("home:") else box.repo / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(UNDECODABLE[kind])
    box.freeze()
    res = check_cli(box, argv)
    assert box.known == {} and res.exit_code in (0, 1)


def _set_in(doc: dict[str, Any], path: str, value: Any) -> None:
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for k in keys[:-1]:
        doc = doc[k]
    doc[keys[-1]] = value


# (where in run r's state, the value, a verb that exited 70 on it before the fix); found by test_fuzz_state_files
WRONG_TYPES = [
    ("tasks.0.status", [], ["run", "show", "r"]),
    ("tasks.0.status", {}, ["run", "list"]),
    ("parentRunIds", None, ["run", "show", "r"]),
    ("parentRunIds", 5, ["run", "list"]),
    ("workers.0.usage", True, ["budget", "r"]),
    ("workers.0.usage", "x", ["dispatch", "r", "t3", "--allow-unreported"]),
    ("budget.costBudget.currency", "ZZZ", ["budget", "r"]),
    ("tasks.1.workerId", True, ["result", "r", "t2", "res.md"]),
    ("dispatches.0.id", [], ["dispatch", "r", "t3", "--allow-unreported"]),
    ("feedback.0.id", {}, ["feedback", "open", "r", "--message", "m"]),
    ("candidates.0.id", [], ["candidate", "register", "r", "--task", "t1"]),
    ("multiAgent.memberships.0.id", [], ["member", "add", "r", "--agent", "z"]),
    ("workers.1.feedbackIds", None, ["worker", "fail", "r", "worker-t2-0001", "boom"]),
    ("workers.0.usage.inputTokens", 1e308, ["pnl"]),
    ("workers.0.usage.inputTokens", 10**400, ["metrics", "show", "r", "--pricing", "default"]),
]


@pytest.mark.parametrize(
    "path,value,argv",
    WRONG_TYPES,
    ids=[f"{p}={json.dumps(v) if v != 10**400 else '1e400'}:{' '.join(a[:2])}" for p, v, a in WRONG_TYPES],
)
def test_state_records_of_an_unexpected_type_are_refused_not_internal_errors(box, path, value, argv):
    """A state that loads can still hold records of any shape (CW does not check them): no verb may crash on one."""
    sp = box.repo / ".cw/runs/r/state.json"
    state = json.loads(sp.read_bytes())
    _set_in(state, path, value)
    sp.write_text(json.dumps(state))
    box.freeze()
    check_cli(box, argv)
    assert box.known == {}


def test_dispatch_refuses_a_pending_task_without_an_id(box):
    """A record without an id is refused at load (it was an internal error in dispatch)."""
    sp = box.repo / ".cw/runs/r/state.json"
    state = json.loads(sp.read_bytes())
    del state["tasks"][2]["id"]  # t3, the pending one
    sp.write_text(json.dumps(state))
    box.freeze()
    check_cli(box, ["dispatch", "r"])
    assert box.known == {}
