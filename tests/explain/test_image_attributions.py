"""Images from Python: a cnn2d on scikit-learn's digits, explained pixel by pixel."""

import numpy as np
from sklearn.datasets import load_digits

import layerwise
from layerwise import Trainer
from layerwise.explain import Explanation
from layerwise.models import build
from layerwise.report.explanations import section


def test_digit_heatmaps_are_complete_honest_and_shown_in_the_report_section(tmp_path):
    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    model = build({"type": "cnn2d"}, images.shape[1:], 10, seed=0)
    Trainer(model, loss="cross_entropy", lr=3e-3, batch_size=64, epochs=3, seed=0).fit(
        images[:1400], data.target[:1400]
    )
    e = layerwise.explain(model, images[1400:], rows="0:16", out=tmp_path / "explain")
    assert e.kind == "image" and e.attributions.shape == (16, 8, 8)
    assert (np.asarray(e.predictions) == data.target[1400:1416]).mean() > 0.8
    checks = {c["check"]: c for c in e.checks}
    assert checks["completeness"]["relative_delta"] < 0.01, checks
    # IG against a black image follows the ink whatever the weights: the randomization check
    # reports that (rank correlation ~0.9 here, as Adebayo et al. found for IG on MNIST)
    assert not checks["randomization"]["passed"] and checks["randomization"]["rank_correlation"] > 0.5
    back = Explanation.read(tmp_path / "explain")
    assert np.allclose(back.attributions, e.attributions)
    html = section(back)
    assert 'id="explanations"' in html and 'alt="Attribution heatmaps over the images"' in html
    assert (tmp_path / "explain" / "images.png").is_file()
