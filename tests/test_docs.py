"""Docs that cannot drift: the CLI reference is generated, and the README's commands exist."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO_ROOT


def test_cli_reference_is_current():
    res = subprocess.run(
        [sys.executable, "-m", "cw.surfaces.docgen", "--check"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr


def test_readme_quick_start_has_exactly_the_two_commands():
    text = (REPO_ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", quick, re.S)
    commands = [line.strip() for b in blocks for line in b.splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()


def test_every_verb_is_in_the_reference():
    from cw.capabilities import all_capabilities

    ref = (REPO_ROOT / "docs" / "cli.md").read_text()
    for cap in all_capabilities():
        assert f"## cw {' '.join(cap.path)}\n" in ref
