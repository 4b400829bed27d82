"""Shared test fixtures: an isolated home, a repo directory, and a CLI runner."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cw"
REPO_ROOT = Path(__file__).resolve().parents[1]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, reason: str) -> None:
    """Skip a test whose dependency is missing locally; under CI=true fail instead, never skip silently."""
    if available:
        return
    if in_ci():
        pytest.fail(f"CI=true and a test dependency is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def require_module(name: str, reason: str) -> Any:
    """Import an optional module for a test, with :func:`require`'s rule when it is absent."""
    try:
        return importlib.import_module(name)
    except ImportError:
        require(False, reason)
        raise


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--heavy", action="store_true", default=False, help="run the heavier variants of the load, crash and fuzz tests"
    )


@pytest.fixture
def heavy(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--heavy"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point CW_HOME, XDG_STATE_HOME and HOME at temp dirs so no test touches the real home."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("CW_HOME", str(home / "cw-home"))
    for var in (
        "CW_CRON_NAME",
        "WORKLOFT_CRON_JOB_NAME",
        "WORKLOFT_CRON_NAME",
        "CW_ACTOR",
        "CW_PARENT_RUN",
        "CW_LOCK_TIMEOUT",
        "CW_LOCK_STALE_SECONDS",
        "CW_DETERMINISTIC_RUN_IDS",
        "NO_COLOR",
        "CW_DEBUG",
        "CW_NO_CACHE",
    ):
        monkeypatch.delenv(var, raising=False)
    return home / "cw-home"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repo directory that is also the process working directory."""
    r = tmp_path / "repo"
    r.mkdir()
    monkeypatch.chdir(r)
    return r


class _Executable:
    """What the installed ``cw`` runs (``cw.surfaces.entry.main``), in the shape CliRunner invokes."""

    name = "cw"

    def main(self, args: Any = (), prog_name: str | None = None, **extra: Any) -> None:
        from cw.surfaces.entry import main

        main(list(args))


class Cli:
    """Runs ``cw`` in-process; ``ok`` asserts exit 0, ``fails`` asserts a given exit code.

    Each call goes where the executable sends it: the click-free fast path when it takes the command line,
    else the root group holding only the named verb (or the whole tree), so every CLI test also covers both
    start-up paths. ``CW_NO_FAST_CLI=1`` in ``env`` forces click.
    """

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str] | None = None, input: str | None = None):
        argv = [str(a) for a in args]
        return self.runner.invoke(_Executable(), argv, env=env, input=input, catch_exceptions=False)  # type: ignore[arg-type]

    def ok(self, *args: str, env: dict[str, str] | None = None):
        res = self(*args, env=env)
        assert res.exit_code == 0, f"cw {' '.join(map(str, args))} exited {res.exit_code}: {res.stderr}"
        return res

    def json(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", env=env).stdout)

    def fails(self, code: int, *args: str, env: dict[str, str] | None = None):
        res = self(*args, env=env)
        assert res.exit_code == code, (
            f"cw {' '.join(map(str, args))}: expected exit {code}, got "
            f"{res.exit_code}; stdout={res.stdout!r} stderr={res.stderr!r}"
        )
        assert res.stdout == "", "a refusal prints nothing on stdout"
        return res


@pytest.fixture
def cw() -> Cli:
    return Cli()


def state_of(repo: Path, run_id: str) -> dict[str, Any]:
    return json.loads((repo / ".cw" / "runs" / run_id / "state.json").read_text())


def copy_fixture_run(repo: Path, name: str, run_id: str | None = None) -> Path:
    """Place a CW fixture state file at <repo>/.cw/runs/<id>/state.json."""
    rid = run_id or name
    d = repo / ".cw" / "runs" / rid
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / f"{name}.state.json", d / "state.json")
    return d


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root with its bytes (lock files excluded): to prove nothing was written."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith(".lock"):
                continue
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


CW_LOCK_HELPER = Path(__file__).resolve().parent / "cw_lock.py"


class CwLockHolder:
    """A separate process holding a lock the way CW does (``tests/cw_lock.py hold``) until released or killed."""

    def __init__(self, target: Path, stale: float | None = None) -> None:
        argv = [sys.executable, str(CW_LOCK_HELPER), "hold", str(target)]
        if stale is not None:
            argv += ["--stale", str(stale)]
        self.lock = Path(f"{target}.lock")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split() if self.proc.stdout else []
        assert line[:1] == ["held"], f"the CW-protocol helper did not take {self.lock}: {line}"
        self.pid = int(line[1])

    def release(self) -> str:
        """Close stdin so the helper releases; returns ``released`` or ``stolen``."""
        out, _ = self.proc.communicate(input="", timeout=30)
        return out.strip()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if f:
                f.close()

    def __enter__(self) -> CwLockHolder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.release()
