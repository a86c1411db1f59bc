"""Limits in time and the multi-process server: a slow prediction is a 503; --workers 2 serves."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

import layerwise.predictor
from layerwise.serving.app import INLINE_ROWS, Limits, app_from_bundle

RECORD = {"sepal length (cm)": 5.1, "sepal width (cm)": 3.5, "petal length (cm)": 1.4, "petal width (cm)": 0.2,
          "size": "small", "wide": True}


def test_a_prediction_past_the_timeout_is_503_and_frees_its_place(iris_bundle, monkeypatch):
    fast = layerwise.predictor.Predictor.raw_outputs
    release = threading.Event()

    def held(self, x, batch_size=4096):  # runs until the test releases it: always past the timeout
        assert release.wait(timeout=300), "never released"
        return fast(self, x, batch_size)

    batch = [RECORD] * (INLINE_ROWS + 1)  # a batch runs in the thread pool, where the timeout applies
    with TestClient(app_from_bundle(iris_bundle, limits=Limits(timeout_s=0.05, max_in_flight=1))) as c:
        monkeypatch.setattr(layerwise.predictor.Predictor, "raw_outputs", held)
        first = c.post("/predict", json=batch)
        assert first.status_code == 503 and "longer than 0.05 s" in first.json()["detail"]
        # the timed-out work still runs in its thread, so it still counts against max_in_flight
        assert c.post("/predict", json=RECORD).status_code == 503
        monkeypatch.setattr(layerwise.predictor.Predictor, "raw_outputs", fast)
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
    server = subprocess.Popen([sys.executable, "-m", "layerwise.cli", "serve", str(iris_bundle), "--port", str(port),
                               "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
                time.sleep(0.2)
            answers = [client.post("/predict", json=RECORD) for _ in range(20)]
        assert all(a.status_code == 200 for a in answers)
        assert len({a.json()["predictions"][0]["prediction"] for a in answers}) == 1
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()
