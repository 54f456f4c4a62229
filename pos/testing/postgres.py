"""A throwaway PostgreSQL server for tests and benchmarks, run from the distribution's packages.

    with PostgresServer(fast=True) as pg:
        url = pg.create_database()          # postgresql://postgres@127.0.0.1:<port>/test_…
        with psycopg.connect(url) as conn:
            ...

The server lives in a folder of its own (a fresh temporary one unless given): ``data/`` (the
cluster), ``socket/`` (its unix socket) and ``postgres.log``. It listens on 127.0.0.1 only, on a
free port, with trust authentication for the ``postgres`` superuser. ``stop()`` shuts it down
(immediate mode: nothing in it is worth a checkpoint) and removes the folder; it also runs at
interpreter exit, so a test run stopped with Ctrl-C leaves no server behind.

As root, the cluster is made and run as the ``postgres`` system user (``initdb`` and ``postgres``
refuse to run as root) through ``runuser``. Needs ``apt-get install postgresql`` (Debian, Ubuntu).
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from pos.testing.process import free_port

# PostgreSQL 13 or newer (DROP DATABASE … WITH (FORCE)).
INSTALL_HINT = "apt-get install postgresql"
SUPERUSER = "postgres"
SYSTEM_USER = "postgres"
# sockaddr_un.sun_path is 108 bytes on Linux, the terminating NUL included
_MAX_SOCKET_PATH = 107
_NAMEDATALEN = 63


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name))


def find_postgres_bin() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``: the newest Debian-packaged version, else PATH."""
    packaged = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "initdb").is_file()]
    if packaged:
        return max(packaged, key=lambda d: _version_key(d.parent))
    initdb = shutil.which("initdb")
    if initdb:
        # Resolved so that pg_ctl and postgres come from the same installation as initdb.
        bindir = Path(initdb).resolve().parent
        if all((bindir / tool).is_file() for tool in ("pg_ctl", "postgres")):
            return bindir
    raise RuntimeError(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) not found in /usr/lib/postgresql/*/bin "
        f"nor on PATH: install them with `{INSTALL_HINT}` (scripts/bootstrap.sh does it when run as root)"
    )


def process_alive(pid: int) -> bool:
    """Whether the process runs: a zombie (exited, not yet reaped by its parent, init here) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        if Path("/proc/self/stat").exists():
            return False
        try:  # no /proc: not Linux
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    # The command name in parentheses may itself hold spaces and parentheses: the state follows the last ')'.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresServer:
    """A PostgreSQL cluster of its own, started by ``start()`` (or ``with``), gone after ``stop()``."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, fast: bool = False,
                 keep: bool = False, timeout: int = 30) -> None:
        """``directory``: the folder to hold the server, created if missing, which must be empty (it is
        removed by ``stop()``); default a fresh temporary folder. ``fast``: no fsync, no synchronous commit,
        no full-page writes (a crash loses the cluster, which is thrown away anyway). ``keep``: leave the
        folder (data and log) in place after ``stop()``. ``timeout``: seconds to wait for start and stop."""
        self.bindir = find_postgres_bin()
        self.fast = fast
        self.keep = keep
        self.timeout = timeout
        self._given_directory = Path(directory) if directory is not None else None
        self._as_root = os.geteuid() == 0
        self._runuser: list[str] = []
        if self._as_root:
            try:
                pwd.getpwnam(SYSTEM_USER)
            except KeyError:
                raise RuntimeError(f"no '{SYSTEM_USER}' system user to run PostgreSQL as (running as root): "
                                   f"`{INSTALL_HINT}` creates it") from None
            runuser = shutil.which("runuser") or next(
                (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.isfile(p)), None)
            if runuser is None:
                raise RuntimeError("running as root needs runuser (util-linux) to start PostgreSQL as "
                                   f"'{SYSTEM_USER}'")
            self._runuser = [runuser, "-u", SYSTEM_USER, "--"]
        self.directory: Path | None = None
        self.port: int | None = None
        self.pid: int | None = None
        self._owner_pid: int | None = None

    # -- where things are

    @property
    def running(self) -> bool:
        return self.pid is not None

    @property
    def data_dir(self) -> Path:
        return self._folder() / "data"

    @property
    def log_path(self) -> Path:
        return self._folder() / "postgres.log"

    @property
    def socket_dir(self) -> Path | None:
        """The unix socket's folder, or None when the folder's path is too long for a unix socket (TCP only)."""
        path = self._folder() / "socket"
        return path if len(str(path / ".s.PGSQL.65535")) <= _MAX_SOCKET_PATH else None

    @property
    def url(self) -> str:
        """The ``postgres`` database, as the ``postgres`` superuser, over TCP."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        if self.port is None:
            raise RuntimeError("the PostgreSQL server is not started")
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{quote(name, safe='')}"

    def _folder(self) -> Path:
        if self.directory is None:
            raise RuntimeError("the PostgreSQL server is not started")
        return self.directory

    # -- life cycle

    def start(self) -> PostgresServer:
        if self.running:
            return self
        self._owner_pid = os.getpid()
        atexit.register(self.stop)
        try:
            self._make_folder()
            self._initdb()
            self._start_postmaster()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stops the server and removes its folder (unless ``keep``). Safe to call more than once."""
        if self._owner_pid != os.getpid():
            # A forked child inherits the atexit hook; the server is its parent's to stop.
            return
        atexit.unregister(self.stop)
        try:
            if self.directory is not None and (self.pid is not None or self._postmaster_pid() is not None):
                self._stop_postmaster()
        finally:
            self.pid = None
            self.port = None
            if self.directory is not None and not self.keep:
                shutil.rmtree(self.directory, ignore_errors=True)
                self.directory = None
            self._owner_pid = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- databases

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """Creates a database (a random name unless given), empty or a copy of ``template`` (which nobody may
        be connected to), and returns its URL."""
        name = name if name is not None else f"test_{secrets.token_hex(6)}"
        self._check_name(name)
        copy = ""
        if template is not None:
            self._check_name(template)
            copy = f" TEMPLATE {quote_identifier(template)}"
        self._execute(f"CREATE DATABASE {quote_identifier(name)}{copy}")
        return self.database_url(name)

    def has_database(self, name: str) -> bool:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            return db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None

    def drop_database(self, name: str) -> None:
        """Drops the database, closing any connection still open to it."""
        self._check_name(name)
        self._execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)} WITH (FORCE)")

    @staticmethod
    def _check_name(name: str) -> None:
        # PostgreSQL silently truncates longer names, and the URL would then name another database.
        if not name or "\0" in name or len(name.encode()) > _NAMEDATALEN:
            raise ValueError(f"not a usable database name: {name!r} (1 to {_NAMEDATALEN} bytes, no NUL)")

    def _execute(self, statement: str) -> None:
        """Runs one statement outside a transaction (CREATE/DROP DATABASE cannot run inside one)."""
        try:
            import psycopg
        except ImportError:
            psql = self.bindir / "psql" if (self.bindir / "psql").is_file() else shutil.which("psql")
            if psql is None:
                raise RuntimeError("neither psycopg (pip install 'pos[postgres]') nor psql is available") from None
            self._run([str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url, "-c", statement],
                      as_postgres=False)
            return
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(statement.encode())

    # -- the steps

    def _make_folder(self) -> None:
        if self._given_directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="pos-postgres-"))
        else:
            folder = self._given_directory.absolute()
            folder.mkdir(parents=True, exist_ok=True)
            if any(folder.iterdir()):
                raise RuntimeError(f"{folder} is not empty: PostgresServer needs a folder of its own (it removes it)")
            self.directory = folder
        if self._as_root:
            entry = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
            os.chmod(self.directory, 0o700)
            if subprocess.run([*self._runuser, "test", "-w", str(self.directory)], check=False).returncode != 0:
                raise RuntimeError(
                    f"the '{SYSTEM_USER}' user cannot reach {self.directory}: one of its parent folders is closed "
                    "to other users (pytest's tmp_path is, as root); pass no directory to use a fresh one under "
                    f"{tempfile.gettempdir()}")

    def _initdb(self) -> None:
        base = [str(self.bindir / "initdb"), "-D", str(self.data_dir), f"--username={SUPERUSER}", "--auth=trust",
                "--encoding=UTF8", "--no-sync"]
        try:
            self._run([*base, "--locale=C.UTF-8"])
        except RuntimeError as error:
            if "locale" not in str(error):
                raise
            # No C.UTF-8 locale on this system: C sorts the same (by code point), only non-ASCII upper/lower differ.
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self._run([*base, "--locale=C"])

    def _server_options(self, port: int) -> str:
        socket_dir = self.socket_dir
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": str(socket_dir) if socket_dir else "",
            "max_connections": "200",
            "shared_buffers": "128MB",
        }
        if self.fast:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        # pg_ctl hands this string to /bin/sh, hence the shell quoting.
        return " ".join(f"-c {shlex.quote(f'{key}={value}')}" for key, value in settings.items())

    def _start_postmaster(self) -> None:
        socket_dir = self.socket_dir
        if socket_dir is not None:
            socket_dir.mkdir(exist_ok=True)
            if self._as_root:
                entry = pwd.getpwnam(SYSTEM_USER)
                os.chown(socket_dir, entry.pw_uid, entry.pw_gid)
        for attempt in range(3):
            # The port is free when asked, but another process may take it before the server binds it.
            port = free_port()
            log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
            try:
                self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-w", "-t", str(self.timeout),
                           "-l", str(self.log_path), "-o", self._server_options(port), "start"])
            except RuntimeError:
                if attempt < 2 and "could not bind" in self._log_tail(log_start):
                    continue
                raise
            self.port = port
            self.pid = self._postmaster_pid()
            return

    def _stop_postmaster(self) -> None:
        try:
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w",
                       "-t", str(self.timeout), "stop"])
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            pid = self._postmaster_pid() or self.pid
            if pid is not None:
                self._kill(pid)

    def _kill(self, pid: int) -> None:
        """SIGQUIT (immediate shutdown: the postmaster takes its children down), then SIGKILL."""
        for sig, wait in ((signal.SIGQUIT, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if not process_alive(pid):
                    return
                time.sleep(0.05)

    def _postmaster_pid(self) -> int | None:
        if self.directory is None:
            return None
        try:
            first = (self.data_dir / "postmaster.pid").read_text(encoding="utf-8").split("\n", 1)[0]
            return int(first)
        except (OSError, ValueError):
            return None

    def _log_tail(self, start: int = 0) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(start)
                return log.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def _run(self, command: list[str], *, as_postgres: bool = True) -> None:
        argv = [*self._runuser, *command] if as_postgres else command
        # cwd: the postgres user may not be allowed into the caller's working folder (/root, say).
        done = subprocess.run(argv, cwd=self.directory, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=self.timeout + 30, check=False)
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
            log = self._log_tail() if as_postgres and self.directory is not None else ""
            raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}): {output}"
                               + (f"\n--- {self.log_path}:\n{log}" if log else ""))
