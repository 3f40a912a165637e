"""The search's lock: one process per search, a stale lock taken over with a note."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from tennis_lab.search.config import SearchError


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        import psutil
    except ImportError:  # pragma: no cover - a dependency of distributed
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


class SearchLock:
    """``<output>/searches/<search id>.lock``: held by the one process running a search.

    The file holds its owner's PID and host. It is created atomically (``os.open``
    with ``O_CREAT | O_EXCL``) and removed on release; a lock whose process no longer
    runs on this host is stale and is taken over, with a note. A context manager:
    ``with SearchLock(path).acquire(say): ...`` releases it however the block ends.
    """

    def __init__(self, path: Path):
        self.path = path
        self.held = False

    def create(self) -> bool:
        """Take the lock when no lock file exists; False when one does."""
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(owner, file)
        self.held = True
        return True

    def owner(self) -> dict[str, Any]:
        """What the lock file says: pid, host, started, command ({} when unreadable)."""
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def acquire(self, say: Callable[[str], None]) -> SearchLock:
        """Take the lock, taking over a stale one.

        Raises
        ------
        SearchError
            When a running process holds it: the message names the process and the file.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(50):
            if self.create():
                return self
            owner = self.owner()
            if owner or self._age() > 5:  # else: its owner is writing it
                if self._alive(owner):
                    raise SearchError(self._busy(owner))
                self._remove_stale(owner, say)
            time.sleep(0.1)
        raise SearchError(f"could not take the lock {self.path} within 5 s; try again.")

    def release(self) -> None:
        """Remove the lock file if this process holds it."""
        if self.held and self.owner().get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> SearchLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _age(self) -> float:
        try:
            return time.time() - self.path.stat().st_mtime
        except OSError:
            return 0.0

    @staticmethod
    def _alive(owner: Mapping[str, Any]) -> bool:
        pid = owner.get("pid")
        if not isinstance(pid, int):
            return False
        if owner.get("host") not in (None, socket.gethostname()):
            return True  # another machine's process: cannot tell, so it holds the lock
        return process_alive(pid)

    def _busy(self, owner: Mapping[str, Any]) -> str:
        return (
            f"search {self.path.stem} is already running: process {owner['pid']} on "
            f"{owner.get('host', '?')} (since {owner.get('started', '?')}) holds its lock "
            f"{self.path}. Wait for it to end or stop it; if that process is gone (e.g. on "
            f"another machine), delete {self.path} and run again."
        )

    def _remove_stale(self, owner: Mapping[str, Any], say: Callable[[str], None]) -> None:
        """Delete a stale lock file, unless another process is doing it or took the lock."""
        guard = self.path.with_name(self.path.name + ".takeover")
        try:
            os.close(os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - guard.stat().st_mtime > 30:  # left by a crash
                    guard.unlink()
            return
        try:
            if self.owner() == owner:
                self.path.unlink(missing_ok=True)
                who = (
                    f"process {owner['pid']} on {owner.get('host', '?')} no longer runs"
                    if owner.get("pid")
                    else "it names no process"
                )
                say(f"Note: taking over the stale lock {self.path} ({who}).")
        finally:
            guard.unlink(missing_ok=True)
