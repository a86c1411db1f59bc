"""`layerwise serve`: verify the bundle, bind the port, then run it under uvicorn.

The bundle is loaded (and its manifest and spec checked) before a port is bound, so a missing
or tampered bundle stops the command with exit code 3 and no server; the port is bound and
listening before the address is announced, so a port in use stops it with exit code 2 and
nothing printed as if it served. With several workers uvicorn starts each from an import
string on the socket bound here; the parent passes the settings in one environment variable,
LAYERWISE_SERVE, which only this module sets and reads.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import LayerwiseError, UsageError, needs_extra
from .app import Limits, app_from_bundle

SETTINGS_VARIABLE = "LAYERWISE_SERVE"
BACKLOG = 2048  # uvicorn's default: connections the kernel queues before the server accepts them


def api_key_from(variable: str | None) -> str | None:
    """The key held in environment variable `variable` (None: no key required)."""
    if variable is None:
        return None
    key = os.environ.get(variable, "")
    if not key.strip():
        raise UsageError(
            f"--api-key-env {variable}: the environment variable is unset or empty",
            hint=f"export {variable}=<a long random key>, or leave out --api-key-env",
        )
    return key.strip()


def serve(
    bundle: Path,
    *,
    host: str,
    port: int,
    workers: int,
    api_key_env: str | None,
    limits: Limits,
    trust_pickle: bool = False,
    public_docs: bool = False,
    unseen: str = "error",
    listening: Callable[[str], None] | None = None,
) -> None:
    """Serve `bundle` until interrupted; `listening(url)` is called once the port accepts connections."""
    with needs_extra("serve"):
        import uvicorn
        from uvicorn.supervisors import Multiprocess

    if workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")
    api_key = api_key_from(api_key_env)
    app = app_from_bundle(
        bundle, api_key=api_key, limits=limits, trust_pickle=trust_pickle, unseen=unseen, public_docs=public_docs
    )  # BundleError here: nothing bound yet
    sock = listen(host, port)
    _log_to_stderr()
    options: dict[str, Any] = {"host": host, "port": port, "access_log": False, "log_level": "warning"}
    if workers > 1:
        os.environ[SETTINGS_VARIABLE] = json.dumps(
            {
                "bundle": str(Path(bundle).resolve()),
                "api_key_env": api_key_env,
                "limits": asdict(limits),
                "trust_pickle": trust_pickle,
                "public_docs": public_docs,
                "unseen": unseen,
            }
        )
        config = uvicorn.Config("layerwise.serving.server:worker_app", factory=True, workers=workers, **options)
    else:
        config = uvicorn.Config(app, **options)
    if listening is not None:
        listening(f"http://{_shown(host)}:{port}")
    try:
        with sock:
            if workers > 1:
                Multiprocess(config, sockets=[sock]).run()
            else:
                server = uvicorn.Server(config)
                server.run(sockets=[sock])
                if not server.started:  # the app's startup (the warm-up prediction) failed; uvicorn logged why
                    raise LayerwiseError("the server stopped while starting; see the lines above")
    except KeyboardInterrupt:
        pass


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port and listening; UsageError naming the option when it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # as uvicorn does: a port left in TIME_WAIT by a stopped server is free; one in use is not
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as err:
        sock.close()
        option = f"--port {port}" if err.errno in (errno.EADDRINUSE, errno.EACCES) else f"--host {host}"
        raise UsageError(
            f"{option}: cannot listen on {_shown(host)}:{port} ({_reason(err)})", hint=_advice(err, host)
        ) from None
    sock.set_inheritable(True)  # the worker processes serve on it
    return sock


def worker_app():
    """The app of one worker process, from the settings its parent left in LAYERWISE_SERVE."""
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    _log_to_stderr()
    return app_from_bundle(
        settings["bundle"],
        api_key=api_key_from(settings["api_key_env"]),
        limits=Limits(**settings["limits"]),
        trust_pickle=settings["trust_pickle"],
        unseen=settings.get("unseen", "error"),
        public_docs=settings["public_docs"],
    )


def _reason(err: OSError) -> str:
    if err.errno == errno.EADDRINUSE:
        return "the port is in use by another program"
    if err.errno == errno.EACCES:
        return "permission denied"
    return err.strerror or str(err)


def _advice(err: OSError, host: str) -> str:
    if err.errno == errno.EADDRINUSE:
        return "stop the other server, or pick another port with --port"
    if err.errno == errno.EACCES:
        return "ports below 1024 need privileges; pick one above with --port"
    return f"check --host {host}: an address of this machine, e.g. 127.0.0.1 or 0.0.0.0"


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _log_to_stderr() -> None:
    # one JSON line per request on stderr (guards.py writes the line), plus any server error
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("layerwise.serving.access", "layerwise.serving.error"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
