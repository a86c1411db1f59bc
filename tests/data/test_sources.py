"""read_table: every source type, and a DataError naming the file and place for each bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from layerwise.data import read_table
from layerwise.errors import DataError

BTC = Path(__file__).resolve().parents[2] / "examples" / "data" / "btc-usd-daily.csv"


def test_reads_the_btc_file_as_pandas_does():
    df = read_table(BTC)
    assert list(df.columns) == ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
    pd.testing.assert_frame_equal(df, pd.read_csv(BTC))


def test_strips_column_names_and_reads_tsv_with_tabs(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text(" a \t b\n1\t2\n3\t4\n", encoding="utf-8")
    df = read_table(path)
    assert list(df.columns) == ["a", "b"] and df["b"].tolist() == [2, 4]


def test_reads_parquet(tmp_path):
    original = pd.DataFrame({"x": [1.5, 2.5], "c": ["a", "b"]})
    original.to_parquet(tmp_path / "d.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "d.parquet"), original)


def test_dataframe_is_copied():
    original = pd.DataFrame({"x": [1, 2]})
    df = read_table(original)
    df.loc[0, "x"] = 99
    assert original.loc[0, "x"] == 1


def test_numpy_sources():
    x = np.arange(6.0).reshape(3, 2)
    assert list(read_table(x).columns) == ["x0", "x1"]
    df = read_table((x, np.array([0, 1, 0])))
    assert list(df.columns) == ["x0", "x1", "target"] and df["target"].tolist() == [0, 1, 0]
    with pytest.raises(DataError, match="y has shape"):
        read_table((x, np.array([0, 1])))
    with pytest.raises(DataError, match="2-D"):
        read_table(np.arange(3.0))


def test_missing_file_names_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="no such file") as err:
        read_table("nope.csv")
    assert str(tmp_path / "nope.csv") in str(err.value) and "check the path" in str(err.value)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "empty"),
        ("header.csv", b"a,b\n", "no data rows"),
        ("latin1.csv", "a,b\n1,2\ncaf\u00e9,3\n".encode("latin-1"), r"line 3 \(byte offset 11\).*0xe9.*UTF-8"),
        ("semi.csv", b"a;b\n1;2\n", "looks ';'-separated.*data.delimiter: ';'"),
        ("tabs.csv", b"a\tb\n1\t2\n", r"looks '\\t'-separated"),
        ("pipes.csv", b"a|b\n1|2\n", "looks '|'-separated"),
        ("long.csv", b"a,b\n1,2\n3,4,5\n", "line 3 has 3 fields but the header \\(line 1\\) has 2"),
        ("short.csv", b"a,b\n1,2\n3\n4,5\n", "line 3 has 1 fields"),
        ("data.xlsx", b"PK", "cannot read files ending in '.xlsx'.*supported extensions are .csv"),
        ("bad.parquet", b"not parquet", "not a readable Parquet file"),
    ],
)
def test_bad_files_raise_data_errors_naming_the_file(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match="(?s)" + expected) as err:
        read_table(path)
    assert str(path) in str(err.value)
    assert err.value.exit_code == 3


def test_duplicate_names_in_a_dataframe_are_refused():
    df = pd.DataFrame([[1, 2]], columns=["a", " a"])
    with pytest.raises(DataError, match=r"\['a'\] appear more than once"):
        read_table(df, name="frame")


def test_unknown_source_type():
    with pytest.raises(DataError, match="cannot read data from a list"):
        read_table([1, 2])


def test_numbers_whose_reading_depends_on_the_decimal_mark_stay_text(tmp_path):
    # "1.234" is 1.234 with a decimal point and 1234 with a decimal comma: data.decimal decides later
    path = tmp_path / "eu.csv"
    path.write_text("a;b;c;d\n1.234;2,5;1.5;7\n12;3,5;2.25;8\n5.000;;3;9\n", encoding="utf-8")
    frame = read_table(path, delimiter=";")
    assert frame["a"].tolist() == ["1.234", "12", "5.000"]
    assert frame["c"].tolist() == [1.5, 2.25, 3.0] and frame["d"].tolist() == [7, 8, 9]
