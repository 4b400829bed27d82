"""``--pricing cw-example`` is CW's bundled example policy, unchanged; ``default`` is cw's own.

Hand-worked: 100,000 input + 20,000 output tokens of gpt-4.1. CW's example
has no gpt-4.1 entry, so its default price 3/15 per million applies:
0.3 + 0.3 = 0.60, estimated. cw's policy has gpt-4.1 at 2/8: 0.2 + 0.16 =
0.36, attested.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import copy_fixture_run

from cw.shell.resources import manifest_path


def _gpt41_run(cw, repo: Path) -> None:
    cw.ok("run", "new", "--id", "r")
    cw.ok("task", "add", "r", "t1")
    cw.ok("dispatch", "r")
    (repo / "out.md").write_text("ok\n")
    cw.ok(
        "result",
        "r",
        "t1",
        "out.md",
        "--usage-input-tokens",
        "100000",
        "--usage-output-tokens",
        "20000",
        "--usage-model",
        "gpt-4.1",
    )


def test_cw_example_gives_cws_numbers_and_default_gives_cws_own(cw, repo):
    _gpt41_run(cw, repo)
    ex = cw.json("metrics", "show", "r", "--pricing", "cw-example")["cost"]
    assert (ex["policyId"], ex["state"], ex["attestedUsd"], ex["estimatedUsd"]) == (
        "bundled-example-v1",
        "estimated",
        None,
        0.6,
    )
    own = cw.json("metrics", "show", "r", "--pricing", "default")["cost"]
    assert (own["policyId"], own["state"], own["attestedUsd"], own["estimatedUsd"]) == (
        json.loads(manifest_path("pricing.policy.json").read_text(encoding="utf-8"))["id"],
        "attested",
        0.36,
        None,
    )


def test_cw_example_on_cws_fixture_run(cw, repo):
    """fixture-run: t-attested claude-opus-4-8 1000/200 at 15/75 = 0.03 exact; w-estimated 500/100 at 3/15 = 0.003."""
    copy_fixture_run(repo, "fixture-run")
    cost = cw.json("metrics", "show", "fixture-run", "--pricing", "cw-example")["cost"]
    assert (cost["state"], cost["attestedUsd"], cost["estimatedUsd"]) == ("estimated", 0.03, 0.003)


def test_every_verb_taking_pricing_accepts_cw_example(cw, repo):
    _gpt41_run(cw, repo)
    assert cw.json("metrics", "summary", "--pricing", "cw-example")["cost"]["estimatedUsd"] == 0.6
    assert cw.json("budget", "r", "--pricing", "cw-example")["costBudget"] is None
    cw.ok("pnl", "--pricing", "cw-example")


def test_the_bundled_copy_is_a_cw_policy_file():
    doc = json.loads(manifest_path("pricing.cw-example.json").read_text())
    assert doc["id"] == "bundled-example-v1" and doc["defaultPrice"] == {"inputPerMillion": 3, "outputPerMillion": 15}


@pytest.mark.skipif(not os.environ.get("CW_JS"), reason="set CW_JS=/path/to/cw.js to compare with CW's own file")
def test_the_bundled_copy_is_cws_file_byte_for_byte():
    cws = Path(os.environ["CW_JS"]).resolve().parents[1] / "manifest" / "pricing.policy.json"
    assert manifest_path("pricing.cw-example.json").read_bytes() == cws.read_bytes()
