"""A text run's report: explained rows with their tokens highlighted (text escaped, never markup),
the tokens that matter most, and the classical reference beside the network."""

import re

import numpy as np
import pandas as pd

import layerwise
from layerwise.report.tokens import highlighted

WORDS = ["the", "box", "came", "with", "a", "cable"]


def test_a_text_runs_report_highlights_tokens_escapes_the_review_and_shows_the_reference(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.choice(["pos", "neg"], 200)
    texts = [
        " ".join([*rng.choice(WORDS, 3), rng.choice(["great", "superb"] if y == "pos" else ["awful", "broken"])])
        + " <script>alert('x')</script>"
        for y in labels
    ]
    frame = pd.DataFrame({"review": texts, "stars": rng.normal(3, 1, 200), "y": labels})
    cfg = {
        "data": {"target": "y", "columns": {"review": "text"}},
        "model": {"type": "text_bag", "hidden": [8], "embedding": 8},
        "train": {"epochs": 3, "seed": 0},
        "evaluate": {"report": True, "bootstrap": 20, "explain": {"rows": 8}},
    }
    layerwise.Experiment(cfg, data=frame).run(tmp_path / "run")
    assert (tmp_path / "run" / "explain" / "tokens.csv").is_file()
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html  # the reviews' markup is text on the page
    section = html[html.index('id="explanations"') :]
    tokens = section[section.index("<h3>Tokens</h3>") :]
    assert tokens.count("<li>") == 5  # five explained rows
    assert '<span style="background: rgba(' in tokens
    shown = re.sub(r"<span[^>]*>|</span>", "", tokens)  # the text without its highlighting
    assert shown.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") == 5
    assert "<h3>Tokens that matter most</h3>" in section
    results = html[html.index('id="results"') : html.index('id="plots"')]
    assert "<h3>Classical reference</h3>" in results and "TF-IDF" in results


def test_highlighting_colours_each_token_by_sign_and_escapes_everything_else():
    text = 'good <b>"bad"</b>'
    tokens = pd.DataFrame({"token": ["good", "bad"], "start": [0, 9], "end": [4, 12], "attribution": [2.0, -1.0]})
    out = highlighted(text, tokens, scale=2.0)
    assert out.startswith('<span style="background: rgba(31, 119, 180, 0.85)" title="good: +2">good</span>')
    assert "&lt;b&gt;&quot;" in out and "<b>" not in out
    assert '<span style="background: rgba(214, 39, 40, 0.42)" title="bad: -1">bad</span>' in out
    assert out.endswith("&quot;&lt;/b&gt;")
    assert highlighted(None, tokens.iloc[:0], 1.0) == "<em>(no text)</em>"
    long = "word " + "x" * 1000
    cut = highlighted(long, tokens.iloc[:0], 1.0)
    assert cut.endswith("… (cut)</span>") and len(cut) < 400
