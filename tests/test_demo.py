"""`make demo` builds its workspace through the real verbs and shows summary, metrics and P&L."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_end_to_end(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    res = subprocess.run([sys.executable, "-m", "cw.demo"], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "already booked" in out and "(exit 1)" in out, "the double booking is refused"
    assert "metrics summary  scope=home  runs=12" in out
    # the sampling loop: 10,400 tokens a round against a 30,000 target -> exactly three rounds, then done
    loop = out.split("$ cw loop list sampling-faq-answers", 1)[1].split("$ ", 1)[0]
    assert "[done]" in loop and "spent 31200/30000" in loop
    assert "round 3 sample@r3" in loop and "round 4" not in loop
    assert "metrics research-pricing-page  [valid]" in out
    assert "attribution=last-touch" in out and "attribution=linear" in out
    assert "cron:weekly-growth" in out and "cron:nightly-triage" in out and "alice" in out
    assert "ledger verify  scope=home  runs=7  failed=0" in out
    # one job goes over its monthly budget: intake says so, the next dispatch is refused
    assert "budget exceeded: cron:nightly-triage month cost" in out
    assert "cw: Refusing to dispatch run triage-today: cron:nightly-triage's month budget" in out
    # and it ends with a weekly P&L over four weeks, each week against the one before
    weekly = out.split("--period week", 1)[1]
    for label in ("2026-W45", "2026-W46", "2026-W47", "2026-W48"):
        assert label in weekly
    assert "change vs 2026-W47:" in weekly and "window total" in weekly
    # the workspace is real: a run file exists where the demo says it built it
    root = out.split("Building a demo workspace in ", 1)[1].split(" ", 1)[0]
    assert list((tmp_path / root.rsplit("/", 1)[1] / "acme-growth" / ".cw" / "runs").glob("*/state.json"))
