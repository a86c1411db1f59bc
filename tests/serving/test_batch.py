"""`layerwise predict` in chunks gives what predicting the whole file gives, in CSV and Parquet."""

from __future__ import annotations

import pandas as pd
import pytest

import layerwise
from layerwise.serving.batch import predict_file


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_streamed_prediction_equals_whole_file(iris_bundle, iris_data, tmp_path, suffix):
    frame = pd.concat([iris_data.drop(columns=["target"])] * 4, ignore_index=True)
    source = tmp_path / f"rows{suffix}"
    frame.to_csv(source, index=False) if suffix == ".csv" else frame.to_parquet(source, index=False)
    model = layerwise.load(iris_bundle)
    seen = []
    out = tmp_path / f"out{suffix}"
    rows = predict_file(
        model, source, out, chunk_rows=97, stream_from_bytes=0, progress=lambda done, total: seen.append((done, total))
    )
    assert rows == len(frame) and len(seen) == 7 and seen[-1][0] == seen[-1][1]
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    whole = model.predict(frame)
    assert (got["prediction"] == whole["prediction"]).all()
    assert (got["proba_setosa"] - whole["proba_setosa"]).abs().max() < 1e-6


def test_a_bad_value_in_a_later_chunk_names_its_rows(iris_bundle, iris_data, tmp_path):
    frame = iris_data.drop(columns=["target"]).astype({"sepal length (cm)": object})
    frame.loc[120, "sepal length (cm)"] = "oops"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(layerwise.DataError, match=r"rows 101-150.*data row 21"):
        predict_file(
            layerwise.load(iris_bundle), tmp_path / "bad.csv", tmp_path / "o.csv", chunk_rows=50, stream_from_bytes=0
        )
    assert not (tmp_path / "o.csv").exists() and not list(tmp_path.glob(".o.csv*"))


def test_cli_predict_keeps_writing_to_stdout(cli, diabetes_bundle, tmp_path):
    from sklearn.datasets import load_diabetes

    load_diabetes(as_frame=True).frame.to_csv(tmp_path / "d.csv", index=False)
    code, out, err = cli("predict", diabetes_bundle, tmp_path / "d.csv", "--chunk-rows", "100")
    assert code == 0, err
    assert out.count("\n") == 443 and out.splitlines()[0].endswith("prediction")
