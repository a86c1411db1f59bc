"""Limits in time and the server process: a slow prediction is a 503; --workers 2 serves; the port is
bound before the address is printed, and one that cannot be bound is a usage error."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

import layerwise.bundle.predictor
from layerwise.serving.app import INLINE_ROWS, Limits, app_from_bundle

RECORD = {
    "sepal length (cm)": 5.1,
    "sepal width (cm)": 3.5,
    "petal length (cm)": 1.4,
    "petal width (cm)": 0.2,
    "size": "small",
    "wide": True,
}


def test_a_prediction_past_the_timeout_is_503_and_frees_its_place(iris_bundle, monkeypatch):
    fast = layerwise.bundle.predictor.Predictor.raw_outputs
    release = threading.Event()

    def held(self, x, batch_size=4096):  # runs until the test releases it: always past the timeout
        assert release.wait(timeout=300), "never released"
        return fast(self, x, batch_size)

    batch = [RECORD] * (INLINE_ROWS + 1)  # a batch runs in the thread pool, where the timeout applies
    with TestClient(app_from_bundle(iris_bundle, limits=Limits(timeout_s=0.05, max_in_flight=1))) as c:
        monkeypatch.setattr(layerwise.bundle.predictor.Predictor, "raw_outputs", held)
        first = c.post("/predict", json=batch)
        assert first.status_code == 503 and "longer than 0.05 s" in first.json()["detail"]
        # the timed-out work still runs in its thread, so it still counts against max_in_flight
        assert c.post("/predict", json=RECORD).status_code == 503
        monkeypatch.setattr(layerwise.bundle.predictor.Predictor, "raw_outputs", fast)
        release.set()
        # its place is freed when the held work ends: wait for that event, seen as a 200
        deadline = time.monotonic() + 300
        while (answer := c.post("/predict", json=batch)).status_code == 503:
            # overloaded while the held work ends; on a loaded machine even the fast work may pass 0.05 s
            assert "overloaded" in answer.json()["detail"] or "longer than" in answer.json()["detail"]
            assert time.monotonic() < deadline, "the place was never freed"
        assert answer.status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_workers_serve_the_bundle(iris_bundle):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "layerwise.cli", "serve", str(iris_bundle), "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, server.stderr.read().decode()
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("the server did not become ready within 60 s")
                time.sleep(0.02)  # polling the server's own readiness, not guessing a duration
            answers = [client.post("/predict", json=RECORD) for _ in range(20)]
        assert all(a.status_code == 200 for a in answers)
        assert len({a.json()["predictions"][0]["prediction"] for a in answers}) == 1
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()


def test_the_address_is_printed_once_the_port_listens(iris_bundle):
    # a run folder stands for its bundle/; the key covers the schema
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "layerwise.cli",
            "serve",
            str(iris_bundle.parent),
            "--port",
            str(port),
            "--api-key-env",
            "LW_TEST_KEY",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LW_TEST_KEY": "s3cret"},
    )
    try:
        lines = []
        while not any("serving" in line for line in lines):
            ready, _, _ = select.select([server.stderr], [], [], 120)
            assert ready, f"nothing printed within 120 s: {lines}"
            lines.append(server.stderr.readline())
            assert lines[-1], f"the server stopped: {lines}"
        assert f"on http://127.0.0.1:{port} " in lines[-1] and "note:" in lines[0] and "bundle" in lines[0]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            assert client.get("/health").status_code == 200  # at once: no retry, it listens already
            assert client.get("/openapi.json").status_code == 401
            assert client.get("/ready", headers={"authorization": "Bearer s3cret"}).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()


def test_a_port_in_use_is_exit_2_and_nothing_claims_to_serve(cli, iris_bundle):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli("serve", iris_bundle, "--port", port)
    assert code == 2 and f"--port {port}" in err and "in use" in err and "serving" not in err


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_a_port_out_of_range_is_a_usage_error(cli, iris_bundle, port):
    code, _, err = cli("serve", iris_bundle, "--port", port)
    assert code == 2 and "--port" in err and "serving" not in err
