"""The Debian descriptions fixture (benchmarks/debian_descriptions.py) is a fit text classification set."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

ROOT = Path(__file__).parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "debian-descriptions.csv"


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    """benchmarks/debian_descriptions.py, the script that made the fixture (benchmarks is no package)."""
    spec = importlib.util.spec_from_file_location("debian_descriptions", ROOT / "benchmarks" / "debian_descriptions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def packages() -> pd.DataFrame:
    # keep_default_na=False: a description reading "NA" is text, not a missing value
    return pd.read_csv(FIXTURE, encoding="utf-8", keep_default_na=False)


def test_has_the_three_columns_and_3000_rows(packages):
    assert list(packages.columns) == ["package", "description", "section"]
    assert len(packages) == 3000
    assert packages["package"].is_unique


def test_no_description_or_section_is_missing(packages):
    for column in ("description", "section"):
        assert (packages[column].str.strip() != "").all(), column
    assert not pd.read_csv(FIXTURE)["description"].isna().any()  # also as pandas reads it by default


def test_descriptions_are_distinct_and_section_names_carry_no_archive_area(packages):
    assert packages["description"].is_unique
    assert not packages["section"].str.contains("/").any()


def test_at_least_ten_sections_of_twenty_rows(packages):
    counts = packages["section"].value_counts()
    assert (counts >= 20).sum() >= 10


def test_descriptions_are_free_text(packages):
    words = packages["description"].str.split().str.len()
    assert words.median() >= 3
    vocabulary = {word for text in packages["description"].str.lower() for word in text.split()}
    assert len(vocabulary) >= 2000  # thousands of distinct words, not a handful of category names


def test_builder_parses_stanzas_as_documented(builder):
    dump = (
        "Package: a\nDescription: first  tool\n long description line\nTag: role::program,\n use::x\n"
        "Section: contrib/utils\n\n"
        "Package: b\nDescription: first tool\nSection: devel\n\n"  # repeats a's text: dropped
        "Package: c\nSection: utils\n\n"  # no description: dropped
        "Package: d\nDescription: second tool\nSection: utils\n"
    )
    parsed = builder.parse(dump)
    assert parsed.values.tolist() == [
        ["a", "first tool", "utils"],
        ["b", "first tool", "devel"],
        ["d", "second tool", "utils"],
    ]
    kept = builder.select(parsed, rows=10, min_per_class=2, seed=0, say=lambda _: None)
    assert kept.values.tolist() == [["a", "first tool", "utils"], ["d", "second tool", "utils"]]


def test_builder_sample_keeps_each_sections_share(builder):
    frame = pd.DataFrame(
        {"package": [f"p{i}" for i in range(100)], "description": [f"text {i}" for i in range(100)]}
    ).assign(section=["big"] * 70 + ["small"] * 30)
    sample = builder.select(frame, rows=10, min_per_class=1, seed=3, say=lambda _: None)
    assert sample["section"].value_counts().to_dict() == {"big": 7, "small": 3}
    again = builder.select(frame, rows=10, min_per_class=1, seed=3, say=lambda _: None)
    pd.testing.assert_frame_equal(sample, again)
