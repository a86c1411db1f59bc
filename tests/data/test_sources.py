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


# Hostile headers and line ends: pandas' own files read back as pandas wrote them, or a DataError.


def _numbers(columns, n=40):
    rng = np.random.default_rng(0)
    return pd.DataFrame({name: rng.normal(size=n) for name in columns})


def test_init_reads_a_header_pandas_wrote_with_a_lone_carriage_return(cli, tmp_path):
    # pandas writes "a\rb" unquoted (its line end is "\n"); the csv module then crashed (exit 1)
    frame = _numbers(["a\rb", "x", "y"])
    frame["note"] = ["one\rtwo"] + ["plain"] * 39
    frame.to_csv(tmp_path / "cr.csv", index=False)
    code, _, err = cli("init", tmp_path / "cr.csv", "--target", "y")
    assert code == 0, err
    pd.testing.assert_frame_equal(read_table(tmp_path / "cr.csv"), frame)


def test_init_is_not_fooled_by_a_tab_and_newline_inside_a_quoted_header(cli, tmp_path):
    # the header line used to be split at its first newline, inside the quotes: "looks tab-separated"
    frame = _numbers(["a\tb\nc", "x", "y"])
    frame.to_csv(tmp_path / "tab.csv", index=False)
    code, _, err = cli("init", tmp_path / "tab.csv", "--target", "y")
    assert code == 0, err
    assert list(read_table(tmp_path / "tab.csv").columns) == ["a\tb\nc", "x", "y"]


def test_a_lone_carriage_return_in_a_file_of_crlf_lines_is_a_data_error(cli, tmp_path):
    # with \r\n line ends a lone \r is itself a line end (pandas' rule): the row it splits is named
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"x,y\r\n1,2\r\n3\r4,5\r\n6,7\r\n")
    code, _, err = cli("init", path, "--target", "y")
    assert code == 3, err
    assert "mixed.csv" in err and "line 3 has 1 fields" in err and "carriage return" in err
    assert "Traceback" not in err


def test_old_mac_line_ends_are_read(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"x,y\r1,2\r3,4\r")
    pd.testing.assert_frame_equal(read_table(path), pd.DataFrame({"x": [1, 3], "y": [2, 4]}))


def test_a_lone_carriage_return_past_the_first_megabyte_is_kept_in_its_value(tmp_path, monkeypatch):
    from layerwise.data import sources

    monkeypatch.setattr(sources, "HEAD_BYTES", 16)  # the head stands for the first MB
    frame = pd.DataFrame({"x": range(8), "note": ["plain"] * 7 + ["one\rtwo"]})
    frame.to_csv(tmp_path / "late.csv", index=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "late.csv"), frame)


def test_a_delimiter_of_more_than_one_character_is_a_config_error(cli, tmp_path):
    (tmp_path / "d.csv").write_text("x;;y\n1;;2\n", encoding="utf-8")
    code, _, err = cli("init", tmp_path / "d.csv", "--target", "y", "--delimiter", ";;")
    assert code == 2, err
    assert "data.delimiter ';;'" in err and "one character" in err and "Traceback" not in err


def test_a_file_holding_only_a_byte_order_mark_is_empty(cli, tmp_path):
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf")
    code, _, err = cli("init", tmp_path / "bom.csv", "--target", "y")
    assert code == 3, err
    assert "bom.csv" in err and "the file is empty" in err


def test_a_decimal_mark_value_late_in_a_long_column_still_keeps_it_text(tmp_path):
    # Guards the fast path (it passes on the old reader too): only the first 10,000 rows are read as
    # text before a column is ruled out, and whole numbers are searched for "5.000" in the raw file.
    n = 10_050
    whole = ["7", ""] * (n // 2)
    whole[-3] = "5.000"  # past the first rows, in ints with missing values (read as floats)
    grouped = ["1.234"] * n
    grouped[-2] = "2.5"  # rules the column out, but only at its end
    lines = ["a,b,c"] + [f"{w},{g},{i}" for i, (w, g) in enumerate(zip(whole, grouped))]
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    frame = read_table(tmp_path / "late.csv")
    assert frame["a"].iloc[-3] == "5.000" and frame["a"].iloc[0] == "7"
    assert frame["b"].dtype == np.float64 and frame["b"].iloc[-2] == 2.5


def test_a_float_column_holding_infinity_reads_without_a_warning(tmp_path):
    # inf - inf in the "1.234" check warned (an error under -W error): seen on a streaming test's table
    (tmp_path / "inf.csv").write_text("x,y\n1.5,inf\n2,-inf\n3,4\n", encoding="utf-8")
    frame = read_table(tmp_path / "inf.csv")
    assert frame["y"].tolist() == [np.inf, -np.inf, 4.0]
