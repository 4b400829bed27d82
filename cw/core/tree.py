"""A deep copy of decoded JSON, for the pure transitions that must not change the state they are given."""

from __future__ import annotations

import copy
from typing import Any

_SHARED = frozenset((str, int, float, bool, type(None)))


def copy_tree(v: Any) -> Any:
    """``copy.deepcopy(v)`` for JSON values: dicts and lists are copied, strings and numbers shared.

    Anything else (a value no JSON decoder gives) goes through ``copy.deepcopy``.
    A state holds thousands of records; this is several times faster than the
    generic copy, which keeps a memo of every object it visits.
    """
    t = type(v)
    if t is dict:
        return {k: x if type(x) in _SHARED else copy_tree(x) for k, x in v.items()}
    if t is list:
        return [x if type(x) in _SHARED else copy_tree(x) for x in v]
    if t in _SHARED:
        return v
    return copy.deepcopy(v)
