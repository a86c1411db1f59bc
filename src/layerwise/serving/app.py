"""The REST API of one bundle: POST /predict, GET /health, /ready, /metadata; OpenAPI at /docs.

The bundle is loaded once, before the server binds; no endpoint reads a path or URL sent by a
client. Prediction runs in the thread pool, at most `max_in_flight` at a time (more get 503)
and for at most `timeout_s` seconds each (longer get 503).
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint signatures, whose types
# are built inside create_app.

import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union

import numpy as np
import pandas as pd
from fastapi import Body, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Discriminator, Field, Tag

from .. import __version__
from ..predictor import Predictor
from . import problems
from .answers import answers
from .auth import bearer
from .guards import Guard
from .records import record_model, record_schema


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server."""

    max_body_bytes: int = 8 * 1024 * 1024
    max_batch: int = 10_000        # records per request
    timeout_s: float = 30.0        # per request, for the prediction itself
    max_in_flight: int = 64        # predictions running or queued; beyond, 503


def create_app(predictor: Predictor, *, versions: dict[str, str] | None = None,
               api_key: str | None = None, limits: Limits = Limits()) -> Guard:
    """An ASGI app serving `predictor`; `api_key` (when set) guards /predict and /metadata."""
    Record = record_model(predictor)
    # A callable discriminator picks the shape first, so a bad record is reported once, by
    # its fields, not once more as "not a list".
    Records = Annotated[
        Union[Annotated[Record, Tag("one")],
              Annotated[list[Record], Tag("many"), Field(min_length=1, max_length=limits.max_batch)]],
        Discriminator(lambda v: "many" if isinstance(v, list) else "one"),
    ]
    guard = Depends(bearer(api_key))
    state = {"ready": False, "in_flight": 0}

    @asynccontextmanager
    async def lifespan(_app):
        _warm_up(predictor)  # the first request should not pay for lazy initialization
        state["ready"] = True
        yield

    app = FastAPI(title=f"layerwise {predictor.task.type} model", version=__version__, lifespan=lifespan,
                  description=f"Predicts '{predictor.task.target}' from {len(record_schema(predictor))} inputs.")
    problems.install(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/ready", responses={503: {"description": "still loading"}})
    def ready(request: Request):
        """The model is loaded and has answered once."""
        if not state["ready"]:
            return problems.refusal(request, 503, "loading")
        return {"status": "ready"}

    @app.get("/metadata", dependencies=[guard], responses={401: {"description": "API key missing or wrong"}})
    def metadata() -> dict[str, Any]:
        """The task, the inputs a record must hold, the test metrics and verdict, and versions."""
        return describe(predictor, versions)

    @app.post("/predict", dependencies=[guard], responses={
        400: {"description": "the body is not JSON"}, 401: {"description": "API key missing or wrong"},
        413: {"description": "body too large"}, 503: {"description": "overloaded or timed out"}})
    async def predict(request: Request, records: Annotated[Records, Body()]) -> dict[str, Any]:
        """Predict one record (an object) or a batch (a list of objects), in order."""
        many = records if isinstance(records, list) else [records]
        if state["in_flight"] >= limits.max_in_flight:
            return problems.refusal(request, 503, "overloaded: too many predictions in flight; retry later",
                                    headers={"Retry-After": "1"})
        state["in_flight"] += 1  # the event loop is one thread: no lock needed
        try:
            frame = pd.DataFrame.from_records([r.model_dump(by_alias=True) for r in many],
                                              columns=list(record_schema(predictor)))
            work = run_in_threadpool(predictor.predict, frame, source="request")
            predicted = await asyncio.wait_for(work, limits.timeout_s)
        except asyncio.TimeoutError:
            return problems.refusal(request, 503, f"the prediction took longer than {limits.timeout_s:g} s")
        finally:
            state["in_flight"] -= 1
        return {"predictions": answers(predictor, predicted), "request_id": request.state.request_id}

    return Guard(app, limits.max_body_bytes)


def app_from_bundle(path: str | Path, *, trust_pickle: bool = False, **options) -> Guard:
    """Load and verify the bundle at `path` (BundleError if it fails), then create its app."""
    from ..bundle import load

    predictor = load(path, trust_pickle=trust_pickle)
    # load() has checked spec.json against the manifest; this reads the versions it recorded
    versions = json.loads((Path(path) / "spec.json").read_text(encoding="utf-8")).get("versions", {})
    return create_app(predictor, versions=versions, **options)


def describe(predictor: Predictor, versions: dict[str, str] | None) -> dict[str, Any]:
    metrics = predictor.metrics or {}
    keep = ("primary_metric", "test", "baseline", "beats_baseline", "verdict", "reasons", "rows")
    return {
        "task": {"type": predictor.task.type, "target": predictor.task.target, "time": predictor.task.time,
                 "lookback": predictor.task.lookback, "horizon": predictor.task.horizon,
                 "classes": list(predictor.task.classes)},
        "inputs": record_schema(predictor),
        "model": {"type": predictor.model["config"].get("type", "mlp"),
                  "input_shape": predictor.model["input_shape"], "output_dim": predictor.model["output_dim"]},
        "metrics": _finite({k: metrics[k] for k in keep if k in metrics}),
        "versions": versions or {},
    }


def _warm_up(predictor: Predictor) -> None:
    shape = [2, *predictor.model["input_shape"]]
    predictor.raw_outputs(np.zeros(shape, dtype=np.float32))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
