"""The image endpoints of an image classifier's app: JSON with base64 images, or multipart file uploads.

    POST /predict        {"images": ["<base64 PNG/JPEG...>", ...]}      (data: URLs accepted too)
    POST /predict/files  multipart/form-data, one `files` part per image

Both answer {"predictions": [{"prediction": label, "probabilities": {class: p}}], "request_id"},
in the order sent. Each image is decoded exactly as training read its files (the bundle's mode,
size and pixel scale; another size is resized), then normalized by the bundle's fitted state.
Before a pixel is decoded its header is read: an image over `max_image_pixels` is a 413, so a
small compressed file cannot make the server allocate gigabytes. A part that is not an image is
a 422 naming it; one bad image refuses the whole request, as one bad record does.

No `from __future__ import annotations`: FastAPI reads the endpoint signatures.
"""

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass
from typing import Annotated, Any, Optional, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model

from ..bundle.predictor import Predictor
from ..data import TargetEncoder

# Decoding is the training reader's own (mode conversion, bilinear resize), so served pixels are
# the pixels the network was trained and evaluated on; Image.open reads a file or a BytesIO alike.
from ..data.images import UNREADABLE, ImagePreprocessor, decode_image
from ..errors import needs_extra
from . import answers, problems
from .media import require_form

with needs_extra("serve"):
    from fastapi import Body, Depends, File, Request, UploadFile
    from starlette.responses import JSONResponse

DATA_URL = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)


@dataclass
class Refused(Exception):
    """One or more images of a request cannot be predicted: the status and the problems, per image."""

    status: int
    detail: list[dict[str, Any]]


class ImagesBody(Protocol):
    """The field of a request_model() body, as the endpoint reads it."""

    images: list[str]


def multipart_available() -> bool:
    """FastAPI parses file uploads with python-multipart; without it only the JSON route is served."""
    try:
        import python_multipart  # noqa: F401
    except ImportError:
        return False
    return True


def request_model(max_batch: int, name: str = "ImagesRequest") -> type[BaseModel]:
    """The JSON body: 1..max_batch base64-encoded image files."""
    encoded = Annotated[
        str,
        Field(
            min_length=1,
            description="an image file (PNG, JPEG, ...), base64-encoded; a data: URL is accepted",
            json_schema_extra={"contentEncoding": "base64"},
        ),
    ]
    config = ConfigDict(extra="forbid", strict=True)
    return create_model(
        name,
        __config__=config,
        images=(list[encoded], Field(min_length=1, max_length=max_batch, description="images, in order")),
    )


def install(
    app,
    predictor: Predictor,
    *,
    run,
    guard,
    json_only,
    responses: dict[int | str, dict[str, Any]],
    max_batch: int,
    max_image_pixels: int,
) -> None:
    """Add POST /predict (and /predict/files when python-multipart is installed) to `app`."""
    pre, target = _image_parts(predictor)
    Images = request_model(max_batch)
    shape = f"{pre.size[0]}x{pre.size[1]} {pre.mode}"
    refusals = {
        **responses,
        413: {"description": "body too large, or an image over the pixel limit"},
        422: {"description": "not an image, bad base64, or too many images"},
    }

    def predict(parts: list[tuple[str, str, bytes]]) -> list[dict[str, Any]]:
        pixels = decode_all(predictor, parts, max_image_pixels)  # (n, channels, h, w)
        proba = predictor.probabilities(predictor.raw_outputs(pre.transform(pixels, source="request")))
        return answers.classes(predictor, target.decode(proba.argmax(axis=1)).tolist(), proba)

    async def answer(request: Request, parts: list[tuple[str, str, bytes]]):
        try:
            predicted = await run(request, predict, parts)
        except Refused as err:
            return problems.refusal(request, err.status, err.detail)
        if not isinstance(predicted, list):
            return predicted  # a refusal: overloaded or timed out
        return {"predictions": predicted, "request_id": request.state.request_id}

    # response_model is the answer's shape; a refusal is a JSONResponse, sent as it is
    @app.post(
        "/predict",
        dependencies=[guard, json_only],
        responses=refusals,
        response_model=dict[str, Any],
        description=f"Classify base64-encoded image files, in order. The model reads {shape} images; "
        "any other size or mode is converted and resized as in training.",
    )
    async def predict_json(
        request: Request,
        body: Annotated[Images, Body()],  # type: ignore[valid-type]  # built at run time
    ) -> dict[str, Any] | JSONResponse:
        asked: ImagesBody = body  # the field request_model gives it
        parts: list[tuple[str, str, bytes]] = []
        bad: list[dict[str, Any]] = []
        for i, text in enumerate(asked.images):
            try:
                parts.append(("images", f"image {i}", base64.b64decode(DATA_URL.sub("", text.strip()), validate=True)))
            except (binascii.Error, ValueError):
                bad.append(
                    _problem(
                        "images",
                        i,
                        f"image {i}: not valid base64; send the file's bytes in standard "
                        "base64 (a data: URL is accepted)",
                        "base64",
                    )
                )
        if bad:
            return problems.refusal(request, 422, bad)
        return await answer(request, parts)

    if not multipart_available():
        return

    @app.post(
        "/predict/files",
        dependencies=[guard, Depends(require_form())],
        response_model=dict[str, Any],
        responses={**refusals, 415: {"description": "the body is not a multipart/form-data upload"}},
        description=f"Classify uploaded image files (multipart/form-data, one `files` part each), in order. "
        f"The model reads {shape} images.",
    )
    async def predict_files(
        request: Request,
        files: Annotated[list[UploadFile], File(description="image files (PNG, JPEG, ...), one part each")],
    ) -> dict[str, Any] | JSONResponse:
        if len(files) > max_batch:
            return problems.refusal(
                request,
                422,
                [_problem("files", None, f"{len(files)} files; at most {max_batch} per request", "too_long")],
            )
        parts = [
            ("files", f"file {i} ({f.filename!r})" if f.filename else f"file {i}", await f.read())
            for i, f in enumerate(files)
        ]
        return await answer(request, parts)


def decode_all(predictor: Predictor, parts: list[tuple[str, str, bytes]], max_pixels: int) -> np.ndarray:
    """Every part's pixels, (n, channels, h, w) scaled as in training; Refused naming each bad part."""
    pre, _ = _image_parts(predictor)
    out = np.zeros((len(parts), pre.channels, *pre.size), dtype=np.float32)
    bad, status = [], 422
    for i, (field, name, raw) in enumerate(parts):
        try:
            width, height = _header(raw)
        except UNREADABLE as err:
            bad.append(
                _problem(
                    field,
                    i,
                    f"{name}: not a readable image ({type(err).__name__}); send PNG, JPEG, BMP, GIF, WebP or TIFF",
                    "not_an_image",
                )
            )
            continue
        if width * height > max_pixels:
            status = 413
            bad.append(
                _problem(
                    field,
                    i,
                    f"{name}: {width}x{height} pixels; the server decodes at most "
                    f"{max_pixels} per image (the model reads {pre.size[0]}x{pre.size[1]}): "
                    "downscale it before sending",
                    "too_large",
                )
            )
            continue
        try:
            # decode_image's annotation says Path; Image.open reads a BytesIO alike (see the import)
            pixels = decode_image(io.BytesIO(raw), tuple(pre.size), pre.mode)  # type: ignore[arg-type]  # see above
            out[i] = pixels / np.float32(pre.scale)
        except UNREADABLE as err:  # a valid header over a truncated or corrupt body
            bad.append(_problem(field, i, f"{name}: not a readable image ({type(err).__name__})", "not_an_image"))
    if bad:
        raise Refused(413 if status == 413 else 422, bad)
    return out


def _image_parts(predictor: Predictor) -> tuple[ImagePreprocessor, TargetEncoder]:
    """The image preprocessor and target encoder of an image classifier bundle."""
    # the app installs these routes only for an image bundle; every image classifier has a target encoder
    assert predictor.images is not None and predictor.target is not None
    return predictor.images, predictor.target


def _header(raw: bytes) -> tuple[int, int]:
    """(width, height) from the file's header, without decoding its pixels."""
    with needs_extra("images"):
        from PIL import Image

    with warnings.catch_warnings():
        # Pillow's own bomb warning fires far above our limit; the limit is checked right after
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(raw)) as img:
            return img.width, img.height


def _problem(field: str, index: Optional[int], msg: str, kind: str) -> dict[str, Any]:
    loc = ["body", field] + ([] if index is None else [index])
    return {"loc": loc, "field": field, "msg": msg, "type": kind}
