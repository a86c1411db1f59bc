"""clean(): each rule on a small hand-made frame, its log, its errors, and the real BTC file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from layerwise.data import CleanOptions, clean, read_table
from layerwise.errors import ConfigError, DataError

BTC = Path(__file__).resolve().parents[2] / "examples" / "data" / "btc-usd-daily.csv"


def messy() -> pd.DataFrame:
    """20 rows: row 19 repeats row 18, one inf, two garbage numbers, a constant, an id, two missing targets."""
    n = 20
    df = pd.DataFrame(
        {
            "id": [f"u{i:03d}" for i in range(n)],
            "size": [str(i) for i in range(n)],
            "weight": np.arange(n, dtype=float),
            "color": ["red", "blue"] * (n // 2),
            "const": [7] * n,
            "y": np.arange(n, dtype=float) * 3,
        }
    )
    df.loc[2, "size"], df.loc[7, "size"] = "abc", "n/a"
    df.loc[1, "weight"] = np.inf
    df.loc[[3, 9], "y"] = np.nan
    df.loc[19] = df.loc[18]
    return df


def entries(log) -> dict:
    return {(e["rule"], e["column"]): e["count"] for e in log.entries}


def test_log_counts_on_a_messy_frame():
    df, kinds, log = clean(messy(), target="y", task="regression", source="messy.csv")
    assert entries(log) == {
        ("coerce_numeric", "size"): 2,
        ("inf_to_missing", "weight"): 1,
        ("drop_missing_target", "y"): 2,
        ("drop_duplicates", None): 1,
        ("drop_constant", "const"): 17,
        ("drop_id", "id"): 17,
    }
    assert log.rows_in == 20 and log.rows_out == 17
    assert kinds == {"size": "numeric", "weight": "numeric", "color": "categorical"}
    assert list(df.columns) == ["size", "weight", "color", "y"] and df.index.tolist() == list(range(17))
    assert df["size"].isna().sum() == 2 and np.isnan(df["weight"][1])
    assert "size: 2 non-numeric values ('abc', 'n/a') coerced to missing" in log.lines()
    assert log.lines()[-1] == "20 rows in, 17 rows out"
    assert json.loads(json.dumps(log.to_dict())) == log.to_dict()


def test_options_turn_rules_off():
    options = CleanOptions(drop_id=False, drop_constant=False, drop_duplicates=False, coerce_numeric=False)
    df, kinds, log = clean(messy(), target="y", task="regression", options=options)
    assert kinds["id"] == "categorical" and kinds["const"] == "numeric" and kinds["size"] == "categorical"
    assert len(df) == 18 and log.count("drop_duplicates") == 0


def test_explicit_features_keep_only_those():
    df, kinds, _ = clean(messy(), target="y", task="regression", features=["color", "weight"])
    assert list(df.columns) == ["color", "weight", "y"] and list(kinds) == ["color", "weight"]
    with pytest.raises(ConfigError, match="data.features"):
        clean(messy(), target="y", task="regression", features=["y", "color"])


def test_missing_target_column_suggests_a_name():
    with pytest.raises(
        DataError, match="(?s)messy.csv: data.target names column 'targt'.*did you mean 'target'.*the columns are"
    ):
        clean(messy().rename(columns={"y": "target"}), target="targt", task="regression", source="messy.csv")


def test_empty_target_is_an_error():
    df = messy().assign(y=None)
    with pytest.raises(DataError, match="the target column 'y' is empty"):
        clean(df, target="y", task="classification")


def test_text_in_a_regression_target_names_the_rows():
    df = messy().astype({"y": object})
    df.loc[4, "y"], df.loc[7, "y"] = "five", "?"  # data rows 5 and 8
    with pytest.raises(DataError, match="target 'y' must be numbers, but data rows 5, 8 hold 'five', '\\?'"):
        clean(df, target="y", task="regression", source="m.csv")


def test_missing_target_kept_when_asked_is_an_error():
    with pytest.raises(DataError, match="(?s)missing at data rows 4, 10.*drop_missing_target"):
        clean(messy(), target="y", task="regression", options=CleanOptions(drop_missing_target=False))


def test_classification_needs_two_classes_and_logs_rare_ones():
    df = messy().assign(y=["a"] * 20)
    with pytest.raises(DataError, match="needs at least two classes"):
        clean(df, target="y", task="classification")
    df = messy().assign(y=["a"] * 10 + ["b"] * 9 + ["c"])
    _, _, log = clean(df, target="y", task="classification")
    assert ("rare_class", "y") in entries(log)


def test_no_feature_left_says_what_was_dropped():
    df = pd.DataFrame({"id": [f"k{i}" for i in range(12)], "c": [1] * 12, "y": np.arange(12.0)})
    with pytest.raises(DataError, match=r"no feature column is left.*id \(an identifier.*c \(one value only\)"):
        clean(df, target="y", task="regression")


def test_a_copy_of_the_target_is_dropped_as_a_leak():
    df = messy().assign(leak=lambda d: d["y"])
    _, kinds, log = clean(df, target="y", task="regression")
    assert "leak" not in kinds and ("drop_target_copy", "leak") in entries(log)


def series(dates) -> pd.DataFrame:
    return pd.DataFrame(
        {"t": dates, "x": np.arange(len(dates), dtype=float) ** 1.5, "y": np.arange(len(dates), dtype=float) * 2}
    )


def test_forecast_time_is_parsed_sorted_deduplicated_and_gaps_noted():
    dates = [f"2024-01-{d:02d}" for d in [1, 2, 3, 3, 5, 4, 8, 9, 10, 11, 12, 13]]
    df, _, log = clean(series(dates), target="y", task="forecast", time="t")
    found = entries(log)
    assert found[("drop_duplicate_time", "t")] == 1
    assert found[("sort_by_time", "t")] == 2
    assert found[("time_gaps", "t")] == 1 and "2 steps are absent" in log.lines()[-2]
    assert df["t"].is_monotonic_increasing and pd.api.types.is_datetime64_any_dtype(df["t"])


def test_unparseable_time_names_the_row():
    dates = [f"2024-01-{d:02d}" for d in range(1, 13)]
    dates[6] = "someday"
    with pytest.raises(
        DataError, match="s.csv: the time column 't' has values that are not dates at data row 7: 'someday'"
    ):
        clean(series(dates), target="y", task="forecast", time="t", source="s.csv")


def test_unknown_task():
    with pytest.raises(ConfigError, match="did you mean 'regression'"):
        clean(messy(), target="y", task="regresion")


def test_btc_cleans_without_error():
    raw = read_table(BTC)
    df, kinds, log = clean(raw, target="Close", task="forecast", time="Date", source=str(BTC))
    assert len(df) == len(raw) and log.entries == []
    assert list(kinds) == ["Open", "High", "Low", "Adj Close", "Volume"]
    df, kinds, log = clean(raw, target="Close", task="regression", source=str(BTC))
    assert "Adj Close" not in kinds and kinds["Date"] == "datetime"


def amounts(n: int = 20) -> pd.DataFrame:
    """Distinct amounts written as Excel exports them, a target that follows them, and a color."""
    values = np.linspace(1000, 48000, n).round(2) + 0.25
    return pd.DataFrame(
        {"amount": [f"{v:,.2f}" for v in values], "color": ["red", "blue"] * (n // 2), "y": values / 1000}
    )


def test_thousands_separators_are_read_as_numbers_not_an_id():
    df, kinds, log = clean(amounts(), target="y", task="regression")
    assert kinds == {"amount": "numeric", "color": "categorical"}
    assert df["amount"].iloc[0] == 1000.25 and df["amount"].iloc[-1] == 48000.25
    [entry] = log.entries
    assert (entry["rule"], entry["column"], entry["count"]) == ("coerce_numeric", "amount", 20)
    assert "20 numbers written with thousands separators" in entry["detail"]
    assert "'1,000.25' -> 1000.25" in entry["detail"]


def test_decimal_commas_are_read_with_data_decimal():
    df = amounts().assign(
        amount=lambda d: [f"{v:.2f}".replace(".", ",") for v in d["y"] * 1000],
        y=lambda d: [f"{v:.2f}".replace(".", ",") for v in d["y"]],
    )
    cleaned, kinds, log = clean(df, target="y", task="regression", decimal=",")
    assert kinds["amount"] == "numeric" and cleaned["y"].iloc[0] == 1.0  # '1,00' is 1 with a decimal comma
    assert cleaned["amount"].iloc[0] == 1000.25
    # with the default '.', the target is refused with the setting that reads it, and a feature is flagged
    with pytest.raises(DataError, match="(?s)target 'y' must be numbers.*set data.decimal: ','"):
        clean(df, target="y", task="regression")
    _, kinds, log = clean(df.assign(y=amounts()["y"]), target="y", task="regression")
    assert ("decimal_mark", "amount") in entries(log) and "set data.decimal: ','" in log.lines()[0]
    with pytest.raises(ConfigError, match="data.decimal"):
        clean(df, target="y", task="regression", decimal=";")


def test_words_that_mean_missing_are_coerced_and_counted():
    df = amounts().assign(size=[str(i) for i in range(20)])
    df.loc[[1, 5, 9], "size"] = ["unknown", "-", "?"]  # 15%: more than the 10% the text rule allows
    cleaned, kinds, log = clean(df, target="y", task="regression")
    assert kinds["size"] == "numeric" and cleaned["size"].isna().sum() == 3
    assert "size: 3 non-numeric values ('unknown', '-', '?') coerced to missing" in log.lines()


def test_a_measurement_dropped_as_an_id_is_warned_about():
    df = amounts().assign(price=np.arange(20) * 37 + 1000)  # sorted whole prices: distinct, monotonic
    df["customer_id"] = np.arange(20) * 37 + 5  # the same numbers, but named like an id
    _, kinds, log = clean(df, target="y", task="regression")
    assert "price" not in kinds and "customer_id" not in kinds
    found = entries(log)
    assert found[("drop_id", "price")] == 20 and found[("numeric_id", "price")] == 20
    assert ("numeric_id", "customer_id") not in found
    [line] = [x for x in log.lines() if x.startswith("price: warning")]
    assert "look like measurements" in line and "data.clean.drop_id: false" in line


def test_numbers_too_large_for_float32_are_refused_naming_column_and_rows():
    df = amounts().assign(x=np.arange(20.0))
    df.loc[[4, 12], "x"] = [1e300, -1e39]
    with pytest.raises(DataError, match=r"(?s)column 'x' holds '1e\+300', '-1e\+39' at data rows 5, 13.*float32"):
        clean(df, target="y", task="regression", source="d.csv")
    with pytest.raises(DataError, match=r"column 'y' holds '1e\+300' at data row 3"):
        clean(amounts().assign(y=lambda d: d["y"].where(d.index != 2, 1e300)), target="y", task="regression")
