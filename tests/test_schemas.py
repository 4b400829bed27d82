"""Every schema is a valid JSON Schema, generated ones are in step with the structs, documents validate."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
from conftest import FIXTURES, REPO_ROOT

from cw.shell.resources import schema, schema_names


@pytest.mark.parametrize("name", schema_names())
def test_schema_is_valid(name):
    jsonschema.Draft202012Validator.check_schema(schema(name))


def test_generated_schemas_match_the_structs():
    res = subprocess.run(
        [sys.executable, "-m", "cw.shell.schemagen", "--check"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("name", ["fixture-run", "empty-run"])
def test_cw_fixtures_validate(name):
    jsonschema.validate(json.loads((FIXTURES / f"{name}.state.json").read_text()), schema("state.schema.json"))


def test_wrong_types_fail_the_state_schema():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tasks": "oops"}, schema("state.schema.json"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"budget": {"costBudget": {"amount": "1e3", "currency": "USD"}}}, schema("state.schema.json")
        )
