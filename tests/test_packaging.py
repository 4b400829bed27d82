"""The built wheel carries schemas/, manifest/ and the workbench's templates and assets, and works from any directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO_ROOT

WORKBENCH_PROBE = """
import threading, urllib.request
from cw.shell.workspace import Workspace
from cw.surfaces.workbench import make_server
server = make_server(Workspace.from_process(), "127.0.0.1", 0, pricing="default", log=lambda line: None)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = server.url
with urllib.request.urlopen(base + "pnl") as res:
    page = res.read().decode()
    print(res.status, page[page.index("<h1>") + 4 : page.index("</h1>")])
with urllib.request.urlopen(base + "assets/workbench.js") as res:
    print(res.read().decode())
server.shutdown()
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO_ROOT)],
        check=True,
        capture_output=True,
    )
    (whl,) = out.glob("cw_runs-*.whl")
    return whl


def test_wheel_contains_bundled_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "cw/_bundled/manifest/pricing.policy.json" in names
    assert "cw/_bundled/schemas/state.schema.json" in names
    assert not any(n.startswith("tests/") for n in names)
    # the workbench's templates and assets ship in the wheel: every one the source tree has
    pkg = REPO_ROOT / "cw" / "surfaces"
    for folder in ("workbench_templates", "workbench_assets"):
        files = sorted(p.relative_to(REPO_ROOT).as_posix() for p in (pkg / folder).iterdir() if p.is_file())
        assert files, folder
        assert set(files) <= set(names), sorted(set(files) - set(names))


def test_wheel_installs_into_a_clean_venv_and_runs_anywhere(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    run_dir = work / ".cw" / "runs" / "fixture-run"
    run_dir.mkdir(parents=True)
    (run_dir / "state.json").write_bytes((FIXTURES / "fixture-run.state.json").read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["CW_HOME"] = str(tmp_path / "home")
    res = subprocess.run(
        [
            str(env_dir / "bin" / "cw"),
            "metrics",
            "show",
            "fixture-run",
            "--pricing",
            "default",
            "--now",
            "2026-06-08T12:00:00.000Z",
            "--json",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["sourceFingerprint"] == "sha256:8313b1890b4358d85398a61688af4884"
    assert report["cost"]["state"] == "estimated"
    # the core install stays light: no MCP SDK unless the extra is asked for
    probe = subprocess.run(
        [str(py), "-c", "import importlib.util as u; print(u.find_spec('mcp') is None)"], capture_output=True, text=True
    )
    assert probe.stdout.strip() == "True"
    mcp = subprocess.run(
        [str(env_dir / "bin" / "cw"), "mcp"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert mcp.returncode == 1 and mcp.stdout == ""
    # the installed workbench renders its pages from the packaged templates and serves its assets, offline
    probe = subprocess.run([str(py), "-c", WORKBENCH_PROBE], cwd=work, env=env, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    pnl, js = probe.stdout.split("\n", 1)
    assert pnl == "200 P&amp;L by actor" and "aria-sort" in js
    assert mcp.stderr.startswith("cw: the MCP server needs the optional extra: pip install 'cw-runs[mcp]'")
