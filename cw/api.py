"""cw's Python API: ``Workspace(repo_dir)`` with one method per verb of the capability table (docs/api.md).

The implementation is ``cw.surfaces.python_api``; ``cw/api.pyi`` gives type
checkers every generated method with its arguments.
"""

from cw.surfaces.python_api import CwError, RefusedError, UsageError, Workspace

__all__ = ["CwError", "RefusedError", "UsageError", "Workspace"]
