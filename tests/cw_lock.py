"""CW 0.2.6's file lock (``withFileLock`` in CW's ``src/shell/fs-atomic.ts``), written for the tests alone.

It shares no code with cw: the concurrency tests pit cw's writers against this
one, so a mistake in cw's lock cannot hide behind the same mistake here.

Used as a script:

* ``hold <target> [--stale S]``: take ``<target>.lock``, print ``held <pid>``,
  keep it until stdin closes (or forever when killed first), then release;
* ``writer <state.json> <tag> <count>``: ``count`` times, under the lock, read
  the JSON, append ``"<tag>-<i>"`` to its top-level ``cwProtocolLog`` list,
  write it by temp file + rename, release, print ``ack <tag>-<i>``.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import random
import sys
import time

STALE_MS = 30_000
BUDGET_MS = 6_000


def _ms() -> float:
    return time.time() * 1000


def _iso() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - the helper runs on any Python 3
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _alive(body: str) -> bool:
    head = body.split("@", 1)[0]
    if "@" not in body or not head.isdigit() or int(head) <= 0:
        return False
    try:
        os.kill(int(head), 0)
        return True
    except PermissionError:
        return True
    except OSError:
        return False


class Lock:
    def __init__(self, target: str, stale_ms: float = STALE_MS, budget_ms: float = BUDGET_MS) -> None:
        self.lock = target + ".lock"
        self.stale_ms, self.budget_ms = stale_ms, budget_ms
        self.pid = str(os.getpid())
        self.attempt = 0

    def _try_link(self, path: str) -> bool:
        tmp = f"{path}.{self.pid}.{self.attempt}.tmp"
        self.attempt += 1
        with open(tmp, "w") as f:
            f.write(f"{self.pid}@{_iso()}\n")
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _steal(self) -> bool:
        guard = self.lock + ".steal"
        try:
            if _ms() - os.stat(guard).st_mtime * 1000 > self.stale_ms:
                os.unlink(guard)
        except OSError:
            pass
        if not self._try_link(guard):
            return False
        try:
            judged = os.stat(self.lock)
            age = _ms() - judged.st_mtime * 1000
            if age <= self.stale_ms:
                return True
            with open(self.lock) as f:
                body = f.read()
            if not (age > self.stale_ms * 10 or not _alive(body)):
                return True
            current = os.stat(self.lock)
            if current.st_ino == judged.st_ino and current.st_mtime == judged.st_mtime:
                os.unlink(self.lock)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.unlink(guard)
        return True

    def acquire(self) -> None:
        deadline = _ms() + self.budget_ms
        backoff = 1.0
        while True:
            if self._try_link(self.lock):
                break
            try:
                age = _ms() - os.stat(self.lock).st_mtime * 1000
                if age > self.stale_ms and self._steal():
                    backoff = 1.0
                    continue
            except FileNotFoundError:
                backoff = 1.0
                continue
            if _ms() >= deadline:
                raise RuntimeError(f"could not acquire file lock for {self.lock[: -len('.lock')]}")
            time.sleep((1 + random.random() * (backoff - 1)) / 1000)
            backoff = min(backoff * 2, 50)
        os.utime(self.lock)

    def release(self) -> bool:
        """Remove the lock if it is still ours; False when someone stole it."""
        try:
            with open(self.lock) as f:
                body = f.read()
        except FileNotFoundError:
            return True
        if not body.startswith(self.pid + "@"):
            return False
        os.unlink(self.lock)
        return True


def _write_json(path: str, doc: object) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(json.dumps(doc, indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def main(argv: list[str]) -> int:
    stale = float(argv[argv.index("--stale") + 1]) * 1000 if "--stale" in argv else STALE_MS
    if argv[0] == "hold":
        lock = Lock(argv[1], stale)
        lock.acquire()
        print(f"held {os.getpid()}", flush=True)
        sys.stdin.read()
        print("released" if lock.release() else "stolen", flush=True)
        return 0
    if argv[0] == "writer":
        path, tag, count = argv[1], argv[2], int(argv[3])
        for i in range(count):
            lock = Lock(path, stale, budget_ms=120_000)
            lock.acquire()
            with open(path) as f:
                doc = json.load(f)
            doc.setdefault("cwProtocolLog", []).append(f"{tag}-{i}")
            _write_json(path, doc)
            if not lock.release():
                print(f"stolen {tag}-{i}", flush=True)
                return 1
            print(f"ack {tag}-{i}", flush=True)
        return 0
    raise SystemExit(f"unknown command {argv[0]}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
