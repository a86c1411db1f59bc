"""The REST API of one bundle: POST /predict (or /generate), GET /health, /ready, /metadata; OpenAPI at /docs.

An image classifier's /predict takes base64-encoded image files, and /predict/files takes
multipart uploads (serving/images.py).

The bundle is loaded once, before the server binds; no endpoint reads a path or URL sent by a
client. With an API key every path but /health (and the documentation, when it is public)
needs the key, checked before routing and before the body is read (auth.py). Prediction and generation
run in the thread pool, at most `max_in_flight` at a time
(more get 503) and for at most `timeout_s` seconds each (longer get 503). A classifier's or
regressor's request of up to INLINE_ROWS records is predicted on the event loop instead, from
arrays built straight from the validated records: for one row, a DataFrame and a thread hop
cost more than the network (benchmarks/serve_load.py). A bundle with text columns always uses
the thread pool: its records are tokenized, at a cost that grows with the text sent.
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
from pydantic import Discriminator, Field, Tag

from .. import __version__
from ..bundle.predictor import Predictor
from ..errors import needs_extra
from . import answers, problems
from .auth import bearer, public_paths
from .guards import Guard
from .media import require_json
from .records import MAX_TEXT_CHARS, GenerateBody, generate_model, record_model, record_schema

with needs_extra("serve"):
    from fastapi import Body, Depends, FastAPI, Request
    from fastapi.concurrency import run_in_threadpool


# Classifier and regressor requests of at most this many records are predicted on the event loop.
INLINE_ROWS = 8


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server."""

    max_body_bytes: int = 8 * 1024 * 1024
    max_batch: int = 10_000  # records per request
    timeout_s: float = 30.0  # per request, for the prediction itself
    max_in_flight: int = 64  # predictions running or queued; beyond, 503
    max_samples: int = 1_000  # texts per /generate request
    max_image_pixels: int = 4096 * 4096  # width x height of one uploaded image, read from its header
    max_text_chars: int = MAX_TEXT_CHARS  # characters in one text field (records.py says why this bound)


def create_app(
    predictor: Predictor,
    *,
    versions: dict[str, str] | None = None,
    api_key: str | None = None,
    limits: Limits = Limits(),
    public_docs: bool = False,
) -> Guard:
    """An ASGI app serving `predictor`.

    `api_key` (when set) guards every path but /health; `public_docs` leaves /docs, /redoc and
    /openapi.json open too (they list every category seen in training and the inputs' bounds).
    """
    generation = predictor.vocabulary is not None
    images = predictor.images is not None
    Record = record_model(predictor, max_text_chars=limits.max_text_chars)
    # A callable discriminator picks the shape first, so a bad record is reported once, by
    # its fields, not once more as "not a list". (Record is built at run time from the bundle:
    # FastAPI reads it, a static checker cannot.)
    Records = Annotated[
        Union[
            Annotated[Record, Tag("one")],  # type: ignore[valid-type]  # built at run time
            Annotated[
                list[Record],  # type: ignore[valid-type]  # built at run time
                Tag("many"),
                Field(min_length=1, max_length=limits.max_batch),
            ],
        ],
        Discriminator(lambda v: "many" if isinstance(v, list) else "one"),
    ]
    guard = Depends(bearer(api_key))
    json_only = Depends(require_json())
    columns = list(record_schema(predictor))
    # classifiers and regressors of rows (a fitted table preprocessor) take the array path;
    # forecasts (a series transform) need the rows' order in time
    rows_direct = predictor.features is not None and predictor.series is None
    # text is tokenized through a DataFrame, at a cost that grows with the characters sent: never on the event loop
    texts = any(info["kind"] == "text" for info in record_schema(predictor).values())

    def predict_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if rows_direct:
            return answers.predict_rows(predictor, rows)
        frame = pd.DataFrame.from_records(rows, columns=columns)
        return answers.answers(predictor, predictor.predict(frame, source="request"))

    state = {"ready": False, "in_flight": 0}

    def outermost(app: FastAPI) -> Guard:
        return Guard(app, limits.max_body_bytes, api_key=api_key, public=public_paths(public_docs))

    @asynccontextmanager
    async def lifespan(_app):
        _warm_up(predictor)  # the first request should not pay for lazy initialization
        state["ready"] = True
        yield

    app = FastAPI(
        title=f"layerwise {predictor.task.type} model",
        version=__version__,
        lifespan=lifespan,
        description=_summary(predictor),
    )
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

    async def run(request: Request, work, *args, inline: bool = False):
        """`work(*args)` in the thread pool, within the in-flight and time limits (503 beyond).

        `inline` work (a few rows of an MLP: a fraction of a millisecond) runs on the event loop
        instead: handing it to a thread and back costs more than the prediction itself.
        """
        if state["in_flight"] >= limits.max_in_flight:
            return problems.refusal(
                request, 503, "overloaded: too many requests in flight; retry later", headers={"Retry-After": "1"}
            )
        if inline:
            return work(*args)
        state["in_flight"] += 1  # the event loop is one thread: no lock needed
        task = asyncio.ensure_future(run_in_threadpool(work, *args))
        # A thread cannot be stopped: work that timed out still holds its place until it ends.
        task.add_done_callback(_release)
        try:
            return await asyncio.wait_for(asyncio.shield(task), limits.timeout_s)
        except TimeoutError:
            return problems.refusal(request, 503, f"the request took longer than {limits.timeout_s:g} s")

    def _release(task: asyncio.Future) -> None:
        state["in_flight"] -= 1
        if not task.cancelled():
            task.exception()  # retrieved here too, so an abandoned failure is not reported as unhandled

    refusals: dict[int | str, dict[str, Any]] = {
        400: {"description": "the body is not JSON"},
        401: {"description": "API key missing or wrong"},
        413: {"description": "body too large"},
        415: {"description": "the body is not declared as JSON"},
        503: {"description": "overloaded or timed out"},
    }

    if generation:
        Generate = generate_model(predictor, limits.max_samples)

        @app.post("/generate", dependencies=[guard, json_only], responses=refusals)
        async def generate(
            request: Request,
            body: Annotated[Generate, Body()],  # type: ignore[valid-type]  # built at run time
        ) -> dict[str, Any]:
            """Sample `n` texts, each continuing `prompt`, one character at a time."""
            asked: GenerateBody = body  # the fields generate_model gives it
            samples = await run(
                request,
                lambda: predictor.generate(
                    asked.n, temperature=asked.temperature, top_k=asked.top_k, prompt=asked.prompt, seed=asked.seed
                ),
            )
            if not isinstance(samples, list):
                return samples  # a refusal
            return {"samples": samples, "request_id": request.state.request_id}

        return outermost(app)

    if images:
        from . import images as image_routes

        image_routes.install(
            app,
            predictor,
            run=run,
            guard=guard,
            json_only=json_only,
            responses=refusals,
            max_batch=limits.max_batch,
            max_image_pixels=limits.max_image_pixels,
        )
        return outermost(app)

    @app.post("/predict", dependencies=[guard, json_only], responses=refusals)
    async def predict(request: Request, records: Annotated[Records, Body()]) -> dict[str, Any]:
        """Predict one record (an object) or a batch (a list of objects), in order."""
        many = records if isinstance(records, list) else [records]
        inline = rows_direct and not texts and len(many) <= INLINE_ROWS
        predicted = await run(request, predict_rows, [r.model_dump(by_alias=True) for r in many], inline=inline)
        if not isinstance(predicted, list):
            return predicted  # a refusal
        return {"predictions": predicted, "request_id": request.state.request_id}

    return outermost(app)


def app_from_bundle(path: str | Path, *, trust_pickle: bool = False, unseen: str = "error", **options) -> Guard:
    """Load and verify the bundle at `path` (BundleError if it fails), then create its app.

    `unseen` is the policy for category values unseen in training, as `predict --unseen`."""
    from ..bundle.store import load, locate

    path = locate(path)  # a run folder stands for its bundle/
    predictor = load(path, trust_pickle=trust_pickle)
    predictor.unseen = unseen
    # load() has checked spec.json against the manifest; this reads the versions it recorded
    versions = json.loads((Path(path) / "spec.json").read_text(encoding="utf-8")).get("versions", {})
    return create_app(predictor, versions=versions, **options)


def _summary(predictor: Predictor) -> str:
    if predictor.images is not None:
        pre = predictor.images
        return (
            f"Classifies {pre.size[0]}x{pre.size[1]} {pre.mode} images into {predictor.task.n_classes} classes; "
            "images of another size or mode are converted and resized as in training."
        )
    return f"Predicts '{predictor.task.target}' from {len(record_schema(predictor))} inputs."


def describe(predictor: Predictor, versions: dict[str, str] | None) -> dict[str, Any]:
    metrics = predictor.metrics or {}
    keep = ("primary_metric", "test", "baseline", "beats_baseline", "verdict", "reasons", "rows")
    extra = {} if predictor.images is None else {"preprocessing": {"images": predictor.images.to_dict()}}
    return {
        "task": {
            "type": predictor.task.type,
            "target": predictor.task.target,
            "time": predictor.task.time,
            "lookback": predictor.task.lookback,
            "horizon": predictor.task.horizon,
            "classes": list(predictor.task.classes),
        },
        "inputs": record_schema(predictor),
        "model": {
            "type": predictor.model["config"].get("type", "mlp"),
            "input_shape": predictor.model["input_shape"],
            "output_dim": predictor.model["output_dim"],
        },
        "metrics": _finite({k: metrics[k] for k in keep if k in metrics}),
        "versions": versions or {},
        **extra,
    }


def _warm_up(predictor: Predictor) -> None:
    shape = [2, *predictor.model["input_shape"]]
    # a generation network reads token ids (integers); the rest read float32 features
    dtype = np.int64 if predictor.vocabulary is not None else np.float32
    predictor.raw_outputs(np.zeros(shape, dtype=dtype))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
