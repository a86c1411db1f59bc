"""Schemathesis against the served OpenAPI: requests drawn from /openapi.json never get a 500.

Both what the schema allows (positive) and what it forbids (negative) are drawn, a few dozen
examples per operation, without shrinking, so the run stays quick. schemathesis's own pytest
plugin (`from_fixture`) does not run under pytest 9, so the strategies are used with `@given`.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from layerwise.serving.app import Limits, app_from_bundle

# Negative cases need something to break: only operations that take input get them.
CASES = [
    ("iris", "GET", "/health", "positive"),
    ("iris", "GET", "/ready", "positive"),
    ("iris", "GET", "/metadata", "positive"),
    ("iris", "POST", "/predict", "positive"),
    ("iris", "POST", "/predict", "negative"),
    ("names", "GET", "/metadata", "positive"),
    ("names", "POST", "/generate", "positive"),
    ("names", "POST", "/generate", "negative"),
    ("digits", "GET", "/metadata", "positive"),
    ("digits", "POST", "/predict", "positive"),
    ("digits", "POST", "/predict", "negative"),
    ("digits", "POST", "/predict/files", "positive"),
    ("digits", "POST", "/predict/files", "negative"),
]
BOUNDED = settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def served(iris_bundle, names_bundle, digits_bundle):
    """OpenAPI schemas of a classifier's, a generator's and an image classifier's app, each bound to its app."""
    limits = Limits(max_body_bytes=64_000, max_batch=20, max_samples=20)
    return {
        name: schemathesis.openapi.from_asgi("/openapi.json", app_from_bundle(bundle, limits=limits))
        for name, bundle in (("iris", iris_bundle), ("names", names_bundle), ("digits", digits_bundle))
    }


def assert_no_server_error(schema, method: str, path: str, mode: str) -> None:
    """Draw requests for one operation; every answer must be below 500."""
    strategy = schema[path][method].as_strategy(generation_mode=GenerationMode(mode))

    @BOUNDED
    @given(case=strategy)
    def check(case):
        response = case.call()
        assert response.status_code < 500, (method, path, case.body, response.status_code, response.text)

    check()


@pytest.mark.parametrize("bundle, method, path, mode", CASES)
def test_no_request_drawn_from_the_schema_gets_a_500(served, bundle, method, path, mode):
    assert_no_server_error(served[bundle], method, path, mode)
