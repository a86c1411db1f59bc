"""Where a study lives: SQLite by default (one machine; a stopped search resumes), PostgreSQL
when workers on many machines share one search.

Heartbeats are on for both: every running trial writes a heartbeat each `heartbeat`
seconds, and a trial silent for twice that (a worker killed with SIGKILL, a machine lost)
is marked FAIL by the next worker to start a trial and queued again, up to `retries` times.
"""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

import optuna
import sqlalchemy.exc
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from sqlalchemy.engine import make_url

from ..errors import UsageError, needs_extra

# The first 16 bytes of every SQLite database file.
SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{(Path(folder) / 'study.db').resolve()}"


def open_storage(url: str, *, heartbeat: int = 60, retries: int = 3) -> RDBStorage:
    """An Optuna RDBStorage for `url`; a UsageError naming host and port when it cannot be reached."""
    check_storage(url)
    url = driver_url(url)
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    engine_kwargs = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Local workers share the file: wait for a lock rather than fail at once.
        engine_kwargs = {"connect_args": {"timeout": 60}}
    elif parsed.get_backend_name() == "postgresql":
        _reachable(parsed.host or "localhost", parsed.port or 5432, shown)
    try:
        with warnings.catch_warnings():
            # Optuna marks heartbeats and the stale-trial retry as experimental; they are what
            # makes a killed worker's trial end as FAIL and run again, so they are used on purpose.
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            return RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat,
                grace_period=2 * heartbeat,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=retries),
            )
    except (sqlalchemy.exc.DatabaseError, sqlalchemy.exc.ArgumentError) as err:  # OperationalError among them
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise UsageError(
            f"--storage {shown}: cannot open the study storage ({reason})",
            hint="check the URL, user, password and database name",
        ) from None


def check_storage(url: str) -> None:
    """Refuse, before any work, a URL that is not a supported database URL, or that names a file
    or folder that is not an SQLite database (a missing or empty file is a new one)."""
    parsed = make_url(driver_url(url))
    if parsed.get_backend_name() == "postgresql":
        with needs_extra("tune-postgres"):  # SQLAlchemy would import it only when connecting
            import psycopg  # noqa: F401
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    shown, path = parsed.render_as_string(hide_password=True), Path(parsed.database)
    if path.is_dir():
        raise UsageError(
            f"--storage {shown}: {path} is a folder, not a database file",
            hint=f"name a file, e.g. sqlite:///{path / 'study.db'}",
        )
    if path.is_file() and path.stat().st_size > 0:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
        if header != SQLITE_HEADER:
            raise UsageError(
                f"--storage {shown}: {path} is not an SQLite database",
                hint="name a new file (it is created) or the study.db of an earlier `layerwise tune`",
            )


def close_storage(storage: RDBStorage) -> None:
    """Close the storage's database connections (each is a server process on PostgreSQL)."""
    storage.remove_session()
    storage.engine.dispose()


def driver_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here; SQLAlchemy's own default would be psycopg2."""
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise UsageError(
            f"--storage {url!r}: not a database URL",
            hint="use sqlite:///path/study.db or postgresql://user:password@host:5432/db",
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise UsageError(
            f"--storage {parsed.render_as_string(hide_password=True)}: '{parsed.drivername}' is not supported",
            hint="use sqlite:/// or postgresql://",
        )
    return parsed.render_as_string(hide_password=False)


def _reachable(host: str, port: int, shown: str) -> None:
    # A plain TCP connect first: a wrong host or port is then one clear line, before any training.
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as err:
        raise UsageError(
            f"--storage {shown}: cannot reach PostgreSQL at {host}:{port} ({err.strerror or err})",
            hint="is the server running and listening on that host and port?",
        ) from None
