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
    assert "metrics summary  scope=home  runs=7" in out
    assert "metrics research-pricing-page  [valid]" in out
    assert "attribution=last-touch" in out and "attribution=linear" in out
    assert "cron:weekly-growth" in out and "cron:nightly-triage" in out and "alice" in out
    assert "ledger verify  scope=home  runs=3  failed=0" in out
    # the workspace is real: a run file exists where the demo says it built it
    root = out.split("Building a demo workspace in ", 1)[1].split(" ", 1)[0]
    assert list((tmp_path / root.rsplit("/", 1)[1] / "acme-growth" / ".cw" / "runs").glob("*/state.json"))
