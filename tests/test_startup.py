"""Start-up: what ``cw`` imports for a command, and that building one verb gives the same command as the whole tree.

Hosts run ``cw result`` once per task, so import cost is the cost users pay most. These tests pin the set of
modules a command loads (no timing: a regression shows up as a new module): a well-formed command line runs
without click (``cw.surfaces.fastcli``, its equivalence with click is ``tests/test_fastcli.py``), help and
errors through click. They also prove the one-verb root group behaves like the full one.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cw.capabilities import MODULES, VERB_MODULES, all_capabilities, capability_at
from cw.surfaces.cli import full_cli, group_for

THIRD_PARTY = (
    "click",
    "msgspec",
    "filelock",
    "jsonschema",
    "mcp",
    "typing_extensions",
    "referencing",
    "rpds",
    "jinja2",
    "markupsafe",
)

# What a run-state verb needs: the table, the run-state module and the core it calls. Nothing from reports or
# money (metrics, pricing, ledgers, P&L), no policies, no lock library until a write takes the lock.
RUNS_VERB_MODULES = {
    "cw",
    "cw.capabilities",
    "cw.capabilities.runs",
    "cw.capabilities.table",
    "cw.core",
    "cw.core.actor",
    "cw.core.cwshape",
    "cw.core.jsonout",
    "cw.core.numbers",
    "cw.core.state",
    "cw.core.transitions",
    "cw.core.tree",
    "cw.core.usage",
    "cw.model",
    "cw.model.errors",
    "cw.shell",
    "cw.shell.paths",
    "cw.shell.store",
    "cw.shell.workspace",
    "cw.surfaces",
    "cw.surfaces.cli",
    "cw.surfaces.cliverb",
    "cw.surfaces.entry",
    "cw.surfaces.fastcli",
}

# What the fast path leaves out: click and the click CLI.
CLICK_MODULES = {"cw.surfaces.cli"}


def loaded_modules(args: list[str], cwd) -> tuple[set[str], set[str], str]:
    """Run the executable's entry with ``args`` in a fresh interpreter: (cw modules, third-party packages, stdout)."""
    code = (
        "import sys, json\n"
        f"sys.argv = ['cw', *{args!r}]\n"
        "from cw.surfaces.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, check=True)
    mods = set(json.loads(out.stderr.splitlines()[-1]))
    cw_mods = {m for m in mods if m == "cw" or m.startswith("cw.")}
    third = {m.split(".")[0] for m in mods} & set(THIRD_PARTY)
    return cw_mods, third, out.stdout


def test_version_loads_no_library(tmp_path):
    cw_mods, third, out = loaded_modules(["--version"], tmp_path)
    assert out == "cw, version {}\n".format(__import__("cw").__version__)
    assert cw_mods == {"cw", "cw.surfaces", "cw.surfaces.entry"}
    assert third == set()


def test_version_fast_path_prints_what_click_prints():
    res = CliRunner().invoke(full_cli(), ["--version"], prog_name="cw")
    assert res.exit_code == 0
    code = "from cw.surfaces.entry import main; main(['--version'])"
    fast = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert fast == res.output


@pytest.mark.parametrize("args", [["result", "--help"], ["task", "add", "--help"]])
def test_a_run_state_verb_loads_only_its_module(args, tmp_path):
    cw_mods, third, out = loaded_modules(args, tmp_path)
    assert out.startswith(f"Usage: cw {' '.join(args[:-1])} [OPTIONS]")
    assert cw_mods == RUNS_VERB_MODULES  # the fast path declined, importing nothing the verb does not need
    assert "click" in third
    assert not third & {"jsonschema", "filelock", "mcp"} and "cw.shell.locks" not in cw_mods


def test_a_write_loads_the_lock_library_and_nothing_from_reports(tmp_path):
    loaded_modules(["run", "new", "--app", "a", "--id", "r1"], tmp_path)
    cw_mods, third, _ = loaded_modules(["task", "add", "r1", "t1"], tmp_path)
    assert '"id": "t1"' in (tmp_path / ".cw" / "runs" / "r1" / "state.json").read_text()
    assert "click" not in third and not cw_mods & CLICK_MODULES
    assert cw_mods - RUNS_VERB_MODULES == {"cw.shell.locks"}
    assert "cw.shell.locks" in cw_mods and "jsonschema" not in third
    assert not {m for m in cw_mods if m.startswith(("cw.capabilities.reports", "cw.capabilities.money"))}
    assert not cw_mods & {"cw.core.metrics", "cw.core.pricing", "cw.core.ledger", "cw.shell.policies"}


def test_a_write_loads_msgspec_without_typing_extensions_which_later_importers_still_get(tmp_path):
    loaded_modules(["run", "new", "--app", "a", "--id", "r1"], tmp_path)
    _, third, _ = loaded_modules(["task", "add", "r1", "t1"], tmp_path)
    assert "msgspec" in third and "typing_extensions" not in third
    code = (
        "import sys\n"
        "from cw.surfaces.entry import _import_msgspec\n"
        "_import_msgspec()\n"
        "assert 'msgspec' in sys.modules and 'typing_extensions' not in sys.modules\n"
        "import typing_extensions, msgspec\n"  # what the MCP SDK or jsonschema would import next
        "class R(msgspec.Struct, frozen=True):\n"
        "    a: int\n"
        "    b: typing_extensions.Literal['x'] = 'x'\n"
        "print(msgspec.json.decode(b'{\"a\": 1}', type=R))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "R(a=1, b='x')"


# Money code a result without any budget in reach must not load: pricing, ledgers, budgets, P&L.
MONEY_MODULES = {
    "cw.capabilities.money",
    "cw.capabilities.budgets",
    "cw.capabilities.reports",
    "cw.core.budget",
    "cw.core.metrics",
    "cw.core.pricing",
    "cw.core.ledger",
    "cw.core.pnl",
    "cw.shell.policies",
}


def test_a_result_without_budgets_loads_no_money_code_and_one_with_a_budget_reports_it(tmp_path, isolated_home):
    loaded_modules(["run", "new", "--app", "a", "--id", "r1"], tmp_path)
    loaded_modules(["task", "add", "r1", "t1"], tmp_path)
    loaded_modules(["task", "add", "r1", "t2"], tmp_path)
    loaded_modules(["dispatch", "r1", "t1", "t2"], tmp_path)
    (tmp_path / "out.md").write_text("done\n")
    args = ["result", "r1", "t1", "out.md", "--usage-input-tokens", "900", "--usage-output-tokens", "100", "--json"]
    cw_mods, third, out = loaded_modules(args, tmp_path)
    assert json.loads(out)["taskId"] == "t1" and "budgetExceeded" not in json.loads(out)
    assert not cw_mods & MONEY_MODULES and "jsonschema" not in third
    assert "click" not in third and not cw_mods & CLICK_MODULES
    # an actor budget in the repo's budgets file: the same verb now loads what checks it, and says it is used up
    loaded_modules(["budget", "set", "--actor", "unattributed", "--tokens", "10", "--period", "day"], tmp_path)
    args[2] = "t2"
    cw_mods, third, out = loaded_modules(args, tmp_path)
    assert json.loads(out)["budgetExceeded"] and "cw.capabilities.money" in cw_mods
    assert "click" not in third


def test_metrics_show_loads_neither_the_summary_nor_the_money_verbs(tmp_path):
    loaded_modules(["run", "new", "--app", "a", "--id", "r1"], tmp_path)
    cw_mods, third, out = loaded_modules(["metrics", "show", "r1", "--json"], tmp_path)
    assert json.loads(out)["runId"] == "r1"
    assert "click" not in third and not cw_mods & CLICK_MODULES
    assert not cw_mods & {
        "cw.capabilities.money",
        "cw.core.summary",
        "cw.core.timeline",
        "cw.core.netting",
        "cw.core.ledger",
        "cw.shell.scan",
        "cw.shell.registry",
        "cw.shell.zones",
    }


def test_a_refusal_runs_without_click_and_a_usage_error_goes_to_click(tmp_path):
    cw_mods, third, out = loaded_modules(["task", "add", "nope", "t1"], tmp_path)  # no such run: cw's refusal
    assert out == "" and "click" not in third and not cw_mods & CLICK_MODULES
    cw_mods, third, out = loaded_modules(["task", "add", "nope"], tmp_path)  # a missing argument: click says so
    assert out == "" and "click" in third and "cw.surfaces.cli" in cw_mods


def test_the_template_engine_loads_only_when_the_workbench_starts(tmp_path):
    for args in (["--version"], ["pnl", "--help"], ["workbench", "--help"], ["run", "list"]):
        _, third, _ = loaded_modules(args, tmp_path)
        assert not third & {"jinja2", "markupsafe"}, args
    code = (
        "import sys\n"
        "from cw.shell.workspace import Workspace\n"
        "from cw.surfaces.workbench import make_server\n"
        "before = 'jinja2' in sys.modules\n"
        "make_server(Workspace.from_process(), port=0, log=print).server_close()\n"
        "print(before, 'jinja2' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_the_verb_index_names_every_verb_and_its_module():
    declared = {}
    for mod in MODULES:
        m = __import__(f"cw.capabilities.{mod}", fromlist=["CAPABILITIES"])
        for c in m.CAPABILITIES:
            declared[" ".join(c.path)] = mod
    assert declared == VERB_MODULES, "add each new verb to VERB_MODULES in cw/capabilities/__init__.py"


def test_capability_at_reads_the_leading_words_only():
    assert capability_at(["result", "r1", "t1", "f"]).name == "result"
    assert capability_at(["task", "add", "r1"]).name == "task.add"
    assert capability_at(["run", "link"]).name == "run.link"
    assert capability_at(["task"]) is None
    assert capability_at(["nope", "add"]) is None
    assert capability_at([]) is None


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def test_the_one_verb_group_holds_exactly_that_verb():
    for cap in all_capabilities():
        if any(" ".join(c.path).startswith(" ".join(cap.path) + " ") for c in all_capabilities()):
            # a verb that is also a group (cw budget RUN, cw budget set): its word needs the whole group
            assert group_for([*cap.path, "x"]) is full_cli()
            continue
        got = list(_commands(group_for([*cap.path, "x"])))
        assert [p for p, _ in got] == [cap.path]


@pytest.mark.parametrize("cap", all_capabilities(), ids=lambda c: c.name)
def test_one_verb_group_matches_the_full_tree(cap, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for tail in (["--help"], ["--no-such-option"], ["-h", "--cwd"]):
        argv = [*cap.path, *tail]
        one = runner.invoke(group_for(argv), argv, prog_name="cw")
        full = runner.invoke(full_cli(), argv, prog_name="cw")
        assert (one.exit_code, one.stdout, one.stderr) == (full.exit_code, full.stdout, full.stderr), argv


@pytest.mark.parametrize("argv", [[], ["--help"], ["task"], ["task", "--help"], ["nope"], ["cron-run", "--help"]])
def test_words_that_name_no_verb_get_the_whole_tree(argv):
    assert group_for(argv) is full_cli()
