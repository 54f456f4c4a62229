"""Who owns an unsettled row: a lock that the kernel releases when its holder dies.

Every connection to the terminal's file (the counter's, the UI's background sync, a ``pos redeem`` in
a shell) is an *owner* with an id and a lock file beside the database, held with ``flock`` for as long
as the connection is open. Journal rows name their owner. Recovery settles only rows whose owner's
lock can be taken — a process that was killed, or a connection that was closed — and never an attempt
whose answer is still on its way to a live counter. ``flock`` is released by the kernel on SIGKILL,
so no stale pid or heartbeat is involved.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
import uuid
from pathlib import Path


def owners_dir(database: Path) -> Path:
    return database.with_name(database.name + ".owners")


class Owner:
    """This connection's claim on the rows it writes; alive until :meth:`release`."""

    def __init__(self, database: Path) -> None:
        self.id = uuid.uuid4().hex
        self.dir = owners_dir(database)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / f"{self.id}.lock"
        # The lock file appears under its name already locked: made and locked under a name that recovery does
        # not look at, then renamed (the lock is the file's, it stays). A file found unlocked under its name
        # for a moment would be taken for a dead owner's by a recovery running in another connection, and
        # removed; this owner's attempts would then look abandoned to every later recovery.
        making = self.dir / f".{self.id}.new"
        fd = os.open(making, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(making, self.path)
        except BaseException:
            os.close(fd)
            making.unlink(missing_ok=True)
            raise
        self._fd: int | None = fd

    def release(self, *, forget: bool) -> None:
        """Let go (the connection closes). ``forget`` removes the lock file: nothing of ours is unsettled."""
        if self._fd is None:
            return
        if forget:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


def is_alive(database: Path, owner_id: str | None) -> bool:
    """Whether the owner of a row still holds its connection open (in this process or any other).

    Rows from before owners were recorded (``None``) and owners whose lock file is gone are not alive.
    """
    if not owner_id:
        return False
    path = owners_dir(database) / f"{owner_id}.lock"
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(fd)  # closing also drops the lock we may have taken
    return False


def forget(database: Path, owner_id: str) -> None:
    """Remove a dead owner's lock file once recovery has settled all of its rows."""
    (owners_dir(database) / f"{owner_id}.lock").unlink(missing_ok=True)


class FileLock:
    """An exclusive ``flock`` on a file beside the database (one sync at a time per terminal)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, *, wait: float = 0.0) -> bool:
        """Take the lock, waiting up to ``wait`` seconds for its holder to finish; False if it did not."""
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)
                continue
            self._fd = fd
            return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
