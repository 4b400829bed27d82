"""``head_key``: the ``createdAt`` and ``id`` that open a state.json, which ``--limit`` ranks runs by.

It may decline (None: the run is then read whole); it must never give a key that is not the document's own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cw.shell.scan import HEAD_BYTES, head_key

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT)
VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3))
KEYS = st.sampled_from(["id", "createdAt", "schemaVersion", "tasks", "workflow", "updatedAt", "x"]) | TEXT


def _write(tmp: Path, data: bytes) -> str:
    p = tmp / "state.json"
    p.write_bytes(data)
    return str(p)


def _plain(v: Any, ensure_ascii: bool) -> bool:
    """A string json.dumps writes without an escape."""
    return isinstance(v, str) and all(
        ord(c) >= 0x20 and c not in '"\\' and (not ensure_ascii or ord(c) < 0x80) for c in v
    )


@settings(max_examples=300, deadline=None)
@given(
    members=st.lists(st.tuples(KEYS, VALUE), max_size=8),
    indent=st.sampled_from([None, 0, 2, "\t"]),
    ensure_ascii=st.booleans(),
    pad=st.integers(0, 5000),
)
def test_a_key_is_the_documents_own_and_given_when_the_head_says_it_plainly(
    tmp_path_factory, members, indent, ensure_ascii, pad
):
    doc = dict(members)  # a repeated key: the last counts, as for the reader
    doc = {"padding": "p" * pad, **doc} if pad % 2 else doc
    text = json.dumps(doc, indent=indent, ensure_ascii=ensure_ascii)
    path = _write(tmp_path_factory.mktemp("head"), text.encode("utf-8"))
    got = head_key(path)
    if got is not None:
        assert got == (doc["createdAt"], doc["id"])
    # when both are plain strings among the scalars opening the first HEAD_BYTES, the key is given
    prefix: list[str] = []
    for k, v in doc.items():
        if isinstance(v, (dict, list)):
            break
        prefix.append(k)
    if (
        {"id", "createdAt"} <= set(prefix)
        and all(_plain(doc[k], ensure_ascii) for k in ("id", "createdAt"))
        and all(_plain(k, ensure_ascii) for k in prefix)
    ):
        end = json.dumps({k: doc[k] for k in prefix}, indent=indent, ensure_ascii=ensure_ascii)
        if len(end.encode("utf-8")) < HEAD_BYTES - 10:
            assert got == (doc["createdAt"], doc["id"])


def test_cw_and_cw_written_files_give_their_key():
    fixtures = Path(__file__).parent / "fixtures" / "cw"
    files = sorted(fixtures.rglob("*.state.json"))
    keyed = 0
    for f in files:
        doc = json.loads(f.read_text())
        got = head_key(str(f))
        if isinstance(doc.get("id"), str) and isinstance(doc.get("createdAt"), str):
            assert got == (doc["createdAt"], doc["id"]), f
            keyed += 1
    assert keyed >= 5  # CW-written (fixture, empty, loop) and cw-written runs


def test_what_the_head_cannot_say_gives_no_key(tmp_path):
    cases = {
        "escaped id": b'{"id": "r\\u0031", "createdAt": "2026-01-01T00:00:00.000Z"}',
        "nested first": b'{"workflow": {}, "id": "r1", "createdAt": "2026-01-01T00:00:00.000Z"}',
        "number id": b'{"id": 7, "createdAt": "2026-01-01T00:00:00.000Z"}',
        "no createdAt": b'{"schemaVersion": 1, "id": "r1", "tasks": []}',
        "an array": b'[{"id": "r1", "createdAt": "2026-01-01T00:00:00.000Z"}]',
        "byte order mark": b'\xef\xbb\xbf{"id": "r1", "createdAt": "2026-01-01T00:00:00.000Z"}',
        "bad UTF-8": b'{"id": "r\xff", "createdAt": "2026-01-01T00:00:00.000Z"}',
        "a control character": b'{"id": "r\x01", "createdAt": "2026-01-01T00:00:00.000Z"}',
        "cut": b'{"id": "r1", "createdAt": "2026-01-01T00:0',
        "empty": b"",
    }
    for what, data in cases.items():
        assert head_key(_write(tmp_path, data)) is None, what
    assert head_key(str(tmp_path / "missing.json")) is None
    folder = tmp_path / "dir"
    folder.mkdir()
    assert head_key(str(folder)) is None


def test_a_fifo_gives_no_key_and_does_not_block(tmp_path):
    fifo = tmp_path / "state.json"
    os.mkfifo(fifo)
    assert head_key(str(fifo)) is None
