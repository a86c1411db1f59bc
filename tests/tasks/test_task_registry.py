"""The registry of kinds: names, and a bundle no kind takes refused with a BundleError, not a StopIteration."""

import pytest

from layerwise import tasks
from layerwise.errors import BundleError, ConfigError


def test_the_built_in_kinds_are_registered_by_name():
    assert tasks.available() == ["forecast", "generation", "images", "rows", "text"]
    assert tasks.get("forecast").types == ("forecast",)
    with pytest.raises(ConfigError, match=r"unknown kind of problem 'row' \(did you mean 'rows'\?\)"):
        tasks.get("row")


def test_a_bundle_of_a_type_no_kind_takes_is_a_bundle_error():
    info = tasks.TaskInfo(type="bogus", target="y", features=["x"])
    with pytest.raises(BundleError, match="task.type 'bogus': no kind of problem takes it"):
        tasks.for_bundle(info, None)


def test_each_kind_names_itself_in_messages():
    assert {name: tasks.get(name).phrase for name in tasks.available()} == {
        "forecast": "forecast",
        "images": "image folders",
        "rows": "rows",
        "generation": "generation",
        "text": "text columns",
    }
