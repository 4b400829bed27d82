"""cw's derived-results cache: per-run summary entries kept outside every repo, never read as truth.

It lives under ``$XDG_CACHE_HOME/cw/`` (default ``~/.cache/cw/``), one pack
file per repo and pricing policy. A pack maps each run directory's name to
what the summary derived from it (its entry, or only what ranking by
``--limit`` needs, or the reason it is unreadable) together with the
identity of every file that result was read from: device, inode, size,
mtime_ns and ctime_ns of ``state.json``, the revenue head file and the
metrics snapshot (absent files included as absent). Every cw write replaces
``state.json`` (a new inode) and any other edit moves its size or times, so
a result whose identities all still match describes exactly the bytes on
disk (the rule git's index relies on). The pack's name also covers the
policy's prices and the code that derived it (cw's version and the size and
mtime of its module files), so another policy or an upgraded cw never
reads an old result.

A result is served only when every identity matches; anything else is
derived again. A summary's pooled payload is kept too, keyed by the identity
of every run it pooled; with ``--limit`` leaving runs out, by each listed
``state.json`` (what ranking reads) plus every file of the runs it read whole.
Results are not recorded for files changed in the last two
seconds (an edit within the same clock tick could keep every identity),
for a file that changed while it was read, or for a run whose verdict
depends on more than these files (a state without its core keys: the
data-loss guard looks at the run's other directories). Deleting the cache
changes no output; ``--no-cache`` (or ``CW_NO_CACHE=1``) bypasses it.

Writes are atomic (temp file in the same directory, ``os.replace``), so
concurrent summaries never see half a pack; the last writer wins, and a
pack that cannot be decoded is ignored and rewritten. The cache is bounded:
at most ``MAX_PACKS`` packs and ``MAX_BYTES`` bytes (the least recently
written go first), each pack holding only runs that still exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

import cw
from cw import __version__
from cw.shell.store import temp_beside

if TYPE_CHECKING:  # the pricing policy check uses this module too, without the summary
    from cw.core.summary import RunEntry

FORMAT = 1
MAX_PACKS = 256
MAX_BYTES = 256 * 1024 * 1024
FRESH_NS = 2_000_000_000  # files changed more recently than this are not cached (same-tick edits)
_DECIMAL_EXT = 1

Identity = tuple[tuple[int, int, int, int, int] | None, ...]

# What a pack records per run: "entry" (the summary entry under the pack's policy), "rank" (readable, with
# only what ranking by --limit reads) or "unreadable" (the reason).
ENTRY, RANK, UNREADABLE = "entry", "rank", "unreadable"


def cache_root(env: Mapping[str, str]) -> Path | None:
    """``$XDG_CACHE_HOME/cw`` (an absolute path), else ``$HOME/.cache/cw``; None when disabled or unusable."""
    if env.get("CW_NO_CACHE", "").strip().lower() in ("1", "true", "yes", "on"):
        return None
    base = env.get("XDG_CACHE_HOME", "")
    if not base or not os.path.isabs(base):
        home = env.get("HOME", "")
        if not home or not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    root = Path(os.path.normpath(base)) / "cw"
    if ".cw" in root.parts:  # derived data never goes inside a repo's .cw/
        return None
    return root


def policy_digest(policy: Any) -> str:
    """What a derived cost depends on: every price of the policy (or the absence of one)."""
    if policy is None:
        return "none"
    doc = [policy.id, policy.currency, list(policy.models), policy.default_price]
    return hashlib.sha256(msgspec.json.encode(doc, enc_hook=str)).hexdigest()


@cache
def code_stamp() -> str:
    """cw's version and the size and mtime of every module file of the package: a changed cw never reads old
    results (an editable install included)."""
    parts = [__version__]
    todo = [os.path.dirname(os.path.abspath(cw.__file__ or ""))]
    while todo:
        with contextlib.suppress(OSError), os.scandir(todo.pop()) as it:
            for e in sorted(it, key=lambda e: e.name):
                if e.name.endswith(".py"):
                    st = e.stat()
                    parts.append(f"{e.path}:{st.st_size}:{st.st_mtime_ns}")
                elif e.name != "__pycache__" and e.is_dir():
                    todo.append(e.path)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _ident(p: str, st: os.stat_result | None = None) -> tuple[int, int, int, int, int] | None:
    if st is None:
        try:
            st = os.stat(p, follow_symlinks=False)
        except OSError:
            return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def identity(run_dir: Path, state_stat: os.stat_result | None = None) -> Identity:
    """The identity of every file a run's summary result is read from (``state_stat``: the ``lstat`` of
    its ``state.json`` when the caller has just taken it)."""
    d = str(run_dir)
    return (
        _ident(d + "/state.json", state_stat),
        _ident(d + "/revenue.head.json"),
        _ident(d + "/metrics/metrics-report.json"),
    )


def _encode_hook(v: Any) -> Any:
    raise TypeError(f"not cacheable: {type(v).__name__}")


def _tag(v: Any) -> Any:
    """Decimals as msgpack extensions (money stays exact); everything else as is."""
    t = type(v)
    if t is dict:
        return {k: _tag(x) for k, x in v.items()}
    if t is list or t is tuple:
        return [_tag(x) for x in v]
    if t is Decimal:
        return msgspec.msgpack.Ext(_DECIMAL_EXT, str(v).encode())
    return v


def _ext_hook(code: int, data: memoryview) -> Any:
    if code != _DECIMAL_EXT:
        raise ValueError("unknown extension")
    return Decimal(bytes(data).decode())


class _Pack(msgspec.Struct):
    repo: str
    runs: dict[str, msgspec.Raw]  # each record decoded only when looked up, written back as read


_encoder = msgspec.msgpack.Encoder(enc_hook=_encode_hook)
_pack_decoder = msgspec.msgpack.Decoder(_Pack)
_record_decoder = msgspec.msgpack.Decoder(ext_hook=_ext_hook)


def _entry_payload(e: RunEntry) -> list[Any]:
    return [_tag(e.ref), e.run_id, e.created_at, _tag(e.backend_bytes), e.output_bytes, e.actor]


def _entry_from(payload: list[Any], repo: str) -> RunEntry:
    from cw.core.summary import RunEntry

    ref, run_id, created_at, backend_bytes, output_bytes, actor = payload
    if not isinstance(ref, dict) or not isinstance(created_at, str) or not isinstance(actor, str):
        raise ValueError("damaged record")
    if "repo" in ref:
        ref["repo"] = repo
    return RunEntry(ref, run_id, repo, created_at, tuple(tuple(b) for b in backend_bytes), output_bytes, actor)


def _same(recorded: Any, ident: Identity) -> bool:
    return isinstance(recorded, list) and tuple(tuple(x) if x is not None else None for x in recorded) == ident


class SummaryCache:
    """The packs of one summary (one policy), loaded per repo on first use and written back by ``flush``."""

    def __init__(self, root: Path, policy: Any) -> None:
        self.root = root / f"summary-v{FORMAT}"
        self.salt = f"{policy_digest(policy)}\0{code_stamp()}"
        self._packs: dict[str, dict[str, msgspec.Raw]] = {}
        self._seen: dict[str, set[str]] = {}
        self._dirty: set[str] = set()
        self._idents: dict[str, Identity] = {}
        self._listed: dict[str, os.stat_result] = {}
        self._pending_payload: tuple[Path, bytes] | None = None
        self.incomplete = False  # some run's result could not be kept: its pooled payload is not kept either

    @classmethod
    def open(cls, env: Mapping[str, str], policy: Any) -> SummaryCache | None:
        root = cache_root(env)
        return None if root is None else cls(root, policy)

    def _pack_path(self, repo: str) -> Path:
        name = hashlib.sha256(f"{repo}\0{self.salt}".encode()).hexdigest()[:40]
        return self.root / f"{name}.pack"

    def _pack(self, repo: str) -> dict[str, msgspec.Raw]:
        pack = self._packs.get(repo)
        if pack is None:
            pack = {}
            try:
                doc = _pack_decoder.decode(self._pack_path(repo).read_bytes())
                if doc.repo == repo:
                    pack = doc.runs
            except (OSError, msgspec.DecodeError, ValueError):
                pass  # missing or damaged: start afresh; flush rewrites it
            self._packs[repo] = pack
            self._seen[repo] = set()
        return pack

    def _decoded(self, repo: str, name: str) -> list[Any] | None:
        raw = self._pack(repo).get(name)
        if raw is None:
            return None
        try:
            rec = _record_decoder.decode(raw)
        except (msgspec.DecodeError, ValueError, TypeError):
            return None
        return rec if isinstance(rec, list) and len(rec) == 3 else None

    def identity(self, run_dir: Path) -> Identity:
        """The run's identity, taken once per summary."""
        key = str(run_dir)
        ident = self._idents.get(key)
        if ident is None:
            ident = self._idents[key] = identity(run_dir, self._listed.pop(key + "/state.json", None))
        return ident

    def prime(self, listed: dict[str, os.stat_result]) -> None:
        """The ``lstat`` of each ``state.json`` the run listing just took (``Store.iter_run_dirs``)."""
        self._listed = listed

    def _summary_path(self, head: str) -> Path:
        name = hashlib.sha256(f"{head}\0{self.salt}".encode()).hexdigest()[:40]
        return self.root / f"{name}.payload"

    def summary_key(self, head: str, run_dirs: list[tuple[Path, Path]]) -> tuple[str, str]:
        """(where the pooled payload of this summary lives, the digest of every run's identity it pooled)."""
        doc = [(str(repo), d.name, self.identity(d)) for repo, d in run_dirs]
        return head, hashlib.sha256(msgspec.json.encode(doc)).hexdigest()

    def listing_key(self, head: str, run_dirs: list[tuple[Path, Path]]) -> tuple[str, str]:
        """``summary_key`` for a summary that reads most runs only to rank them (``--limit``): the digest
        covers each ``state.json`` as listed (what ranking reads); the runs read whole are checked apart,
        file by file, when the payload is looked up (``pooled``)."""
        now = time.time_ns()
        doc = []
        for repo, d in run_dirs:
            p = f"{d}/state.json"
            ident = _ident(p, self._listed.get(p))
            if ident is not None and now - max(ident[3], ident[4]) < FRESH_NS:
                self.incomplete = True  # a same-tick edit could keep every identity: keep no payload
            doc.append((str(repo), d.name, ident))
        return head, hashlib.sha256(msgspec.json.encode(doc)).hexdigest()

    def pooled(self, key: tuple[str, str]) -> Any:
        """The pooled payload of a summary over exactly these runs, each unchanged, or None."""
        head, digest = key
        try:
            doc = _record_decoder.decode(self._summary_path(head).read_bytes())
        except (OSError, msgspec.DecodeError, ValueError, TypeError):
            return None
        if type(doc) is not list or len(doc) != 4 or doc[0] != head or doc[1] != digest or type(doc[3]) is not dict:
            return None
        checked = doc[2]
        if type(checked) is not list:
            return None
        for item in checked:
            if type(item) is not list or len(item) != 2 or type(item[0]) is not str:
                return None
            if not _same(item[1], self.identity(Path(item[0]))):
                return None
        return doc[3]

    def keep_pooled(self, key: tuple[str, str], payload: Any, read_whole: list[Path] | None = None) -> None:
        """Keep the pooled payload when every run's result could be kept (nothing depends on other files);
        ``read_whole``: with ``listing_key``, the runs the summary read whole, whose files it rests on."""
        if self.incomplete:
            return
        checked = [[str(d), [list(i) if i else None for i in self.identity(d)]] for d in read_whole or ()]
        try:
            data = _encoder.encode([key[0], key[1], checked, _tag(payload)])
        except (TypeError, OverflowError, ValueError):
            return
        self._pending_payload = (self._summary_path(key[0]), data)

    def lookup(self, repo: str, run_dir: Path, derive: bool) -> tuple[Any, Identity]:
        """(the recorded result if every identity matches, else None; the identity now)."""
        ident = self.identity(run_dir)
        self._pack(repo)
        self._seen[repo].add(run_dir.name)
        rec = self._decoded(repo, run_dir.name) if ident[0] is not None else None
        if rec is None or not _same(rec[0], ident):
            return None, ident
        _, kind, payload = rec
        try:
            if kind == UNREADABLE and isinstance(payload, str):
                return {"runId": run_dir.name, "repo": repo, "reason": payload}, ident
            if kind == ENTRY or (kind == RANK and not derive):
                return _entry_from(payload, repo), ident
        except (TypeError, ValueError, KeyError):
            pass  # a damaged record: derive again
        return None, ident

    def record(self, repo: str, run_dir: Path, before: Identity, result: Any, kind: str) -> None:
        """Keep ``result`` (derived from the files as they were at ``before``) if nothing moved meanwhile."""
        if not self._keep(repo, run_dir, before, result, kind):
            self.incomplete = True

    def _keep(self, repo: str, run_dir: Path, before: Identity, result: Any, kind: str) -> bool:
        if before[0] is None or identity(run_dir) != before:
            return False
        now = time.time_ns()
        if any(i is not None and now - max(i[3], i[4]) < FRESH_NS for i in before):
            return False
        if kind == RANK:
            old = self._decoded(repo, run_dir.name)
            if old is not None and old[1] == ENTRY and _same(old[0], before):
                return True  # the full entry serves ranking too
        try:
            payload = result if kind == UNREADABLE else _entry_payload(result)
            raw = msgspec.Raw(_encoder.encode([[list(i) if i else None for i in before], kind, payload]))
        except (TypeError, OverflowError, ValueError):
            return False  # what msgpack cannot hold (a huge integer): not cached
        self._pack(repo)[run_dir.name] = raw
        self._dirty.add(repo)
        return True

    def flush(self) -> None:
        """Write back the packs that changed (only runs this summary saw), then keep the cache bounded."""
        if not self._dirty and self._pending_payload is None:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            return
        if self._pending_payload is not None:
            with contextlib.suppress(OSError):
                _write(*self._pending_payload)
            self._pending_payload = None
        for repo in sorted(self._dirty):
            seen = self._seen.get(repo, set())
            runs = {k: v for k, v in self._packs[repo].items() if k in seen}
            with contextlib.suppress(OSError):
                _write(self._pack_path(repo), _encoder.encode({"repo": repo, "runs": runs}))
        self._dirty.clear()
        prune(self.root)


def _write(path: Path, data: bytes) -> None:
    fd, tmp = temp_beside(path)  # named like the store's temp files (``.tmp``), which prune removes when stale
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def prune(root: Path, max_packs: int = MAX_PACKS, max_bytes: int = MAX_BYTES) -> None:
    """Remove the least recently written files beyond ``max_packs`` or ``max_bytes`` (and stale temp files)."""
    packs = []
    now = time.time()
    try:
        with os.scandir(root) as it:
            for e in it:
                with contextlib.suppress(OSError):
                    st = e.stat(follow_symlinks=False)
                    if e.name.endswith(".tmp") and now - st.st_mtime > 3600:
                        os.unlink(e.path)  # left by a killed summary
                    elif e.name.endswith((".pack", ".payload")):
                        packs.append((st.st_mtime_ns, st.st_size, e.path))
    except OSError:
        return
    packs.sort(reverse=True)
    total = 0
    for i, (_, size, path) in enumerate(packs):
        total += size
        if i >= max_packs or total > max_bytes:
            with contextlib.suppress(OSError):
                os.unlink(path)
