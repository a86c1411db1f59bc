"""`layerwise serve`: verify the bundle, then run it under uvicorn.

The bundle is loaded (and its manifest checked) before a port is bound, so a missing or
tampered bundle stops the command with exit code 3 and no server. With several workers
uvicorn starts each from an import string; the parent passes the settings in one environment
variable, LAYERWISE_SERVE, which only this module sets and reads.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path

from ..errors import UsageError
from .app import Limits, app_from_bundle

SETTINGS_VARIABLE = "LAYERWISE_SERVE"


def api_key_from(variable: str | None) -> str | None:
    """The key held in environment variable `variable` (None: no key required)."""
    if variable is None:
        return None
    key = os.environ.get(variable, "")
    if not key.strip():
        raise UsageError(f"--api-key-env {variable}: the environment variable is unset or empty",
                         hint=f"export {variable}=<a long random key>, or leave out --api-key-env")
    return key.strip()


def serve(bundle: Path, *, host: str, port: int, workers: int, api_key_env: str | None, limits: Limits,
          trust_pickle: bool = False) -> None:
    import uvicorn

    if workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")
    api_key = api_key_from(api_key_env)
    app = app_from_bundle(bundle, api_key=api_key, limits=limits, trust_pickle=trust_pickle)  # BundleError here: nothing bound yet
    _log_to_stderr()
    options = {"host": host, "port": port, "access_log": False, "log_level": "warning"}
    if workers == 1:
        uvicorn.run(app, **options)
        return
    os.environ[SETTINGS_VARIABLE] = json.dumps(
        {"bundle": str(Path(bundle).resolve()), "api_key_env": api_key_env, "limits": asdict(limits),
         "trust_pickle": trust_pickle})
    uvicorn.run("layerwise.serving.server:worker_app", factory=True, workers=workers, **options)


def worker_app():
    """The app of one worker process, from the settings its parent left in LAYERWISE_SERVE."""
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    _log_to_stderr()
    return app_from_bundle(settings["bundle"], api_key=api_key_from(settings["api_key_env"]),
                           limits=Limits(**settings["limits"]), trust_pickle=settings["trust_pickle"])


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
