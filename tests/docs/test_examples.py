"""Every example in the guide runs: one test per page of docs/ (the generated reference aside).

How each block runs is in docs_examples.py (the conventions of the guide); a failure names
the page, the line and the block. Per-page times are printed at the end of the session.
"""

from __future__ import annotations

import pytest
from docs_examples import ROOT, pages, run_page

PAGES = pages()


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT / "docs")) for p in PAGES])
def test_page_examples_run(page, record_property):
    name = str(page.relative_to(ROOT))
    result = run_page(page, name=name)
    record_property("guide_page", name)
    record_property("seconds", round(result.seconds, 2))
    record_property("blocks", result.blocks)
