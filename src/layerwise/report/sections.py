"""The report's sections, each from a RunRecord to HTML: verdict, data, model, training, results, plots.

Every number shown is read from the run folder; the sections only arrange and phrase it.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from matplotlib.figure import Figure, SubFigure

from ..evaluation.gate import favours
from .data_curve import DataCurveDisplay
from .distribution import TargetDisplay
from .figure import png_data_uri
from .intervals import DifferenceDisplay
from .loss_curve import LossCurveDisplay
from .run import RunRecord
from .task_plots import task_plots

TASK_PLOTS_TITLE = {
    "classification": "Classification plots",
    "regression": "Regression plots",
    "forecast": "Forecast plots",
}


def verdict(run: RunRecord) -> str:
    m = run.metrics
    deploy = m.get("verdict") == "DEPLOY"
    reasons = "".join(f"<li>{escape(r)}</li>" for r in m.get("reasons", []))
    leaks = m.get("leakage") or []
    warning = (
        (
            f'<p class="warn"><strong>Leakage warning:</strong> {len(leaks)} check(s) failed; '
            'see <a href="#data">Data</a>.</p>'
        )
        if leaks
        else ""
    )
    return (
        f'<section id="verdict" class="{"deploy" if deploy else "nodeploy"}"><h2>Verdict</h2>'
        f'<p class="headline"><strong>{escape(m.get("verdict", ""))}</strong>: '
        f"{escape(m.get('finding', ''))}</p><ul>{reasons}</ul>{warning}</section>"
    )


def data(run: RunRecord) -> str:
    m = run.metrics
    rows = m.get("rows", {})
    summary = m.get("data") or {}
    unit = "windows" if run.series is not None else "images" if summary.get("images") else "rows"
    parts = [html_table([("split", unit)] + [(k, f"{v:,}") for k, v in rows.items()])]
    cleaning = m.get("cleaning") or {}
    if cleaning:
        entries = "".join(
            f"<li>{escape((e['column'] + ': ') if e.get('column') else '')}{escape(e['detail'])}</li>"
            for e in cleaning.get("entries", [])
        )
        parts.append(
            f"<h3>Cleaning</h3><p>{cleaning.get('rows_in', 0):,} rows in, "
            f"{cleaning.get('rows_out', 0):,} rows out.</p>"
            + (f"<ul>{entries}</ul>" if entries else "<p>No change was needed.</p>")
        )
    if summary.get("images"):
        im = summary["images"]
        parts.append(
            "<h3>Images</h3>"
            + html_table(
                [("size", "mode", "channels", "normalization")]
                + [
                    (
                        "×".join(map(str, im["size"])),
                        im["mode"],
                        im["channels"],
                        f"{im['normalize']} per channel, fitted on train",
                    )
                ]
            )
        )
    if summary.get("kinds"):
        by_kind: dict[str, list[str]] = {}
        for column, kind in summary["kinds"].items():
            by_kind.setdefault(kind, []).append(column)
        parts.append(
            "<h3>Features</h3>"
            + html_table(
                [("kind", "count", "columns")] + [(kind, len(cols), ", ".join(cols)) for kind, cols in by_kind.items()]
            )
        )
    if "classes" in summary or "histogram" in summary:
        title = "Class balance" if "classes" in summary else "Target distribution"
        parts.append(f"<h3>{title}</h3>" + html_figure(TargetDisplay.from_summary(summary).figure_, title))
    leaks = m.get("leakage")
    if leaks is not None:
        items = "".join(f'<li class="warn">{escape(w["detail"])}</li>' for w in leaks)
        passed = (
            "test times follow training times; forecast windows end before the values they predict"
            if run.series is not None
            else "no test row repeats a training row's features, no feature is "
            "a near-copy of the target" + ("" if run.time is None else ", test times follow training times")
        )
        parts.append(
            "<h3>Leakage audit</h3>" + (f"<ul>{items}</ul>" if items else f"<p>No leakage found: {passed}.</p>")
        )
    return html_section("data", "Data", "".join(parts))


def model(run: RunRecord) -> str:
    spec = run.spec
    if spec is None:
        return html_section("model", "Model", "<p>No bundle in this folder.</p>")
    shape = spec["model"]["input_shape"]
    if run.architecture is not None:  # as the run computed it, where the model was built
        table = run.architecture
    else:
        from ..models.summary import architecture  # torch: only to rebuild the model here

        table = architecture(spec["model"])
    total = sum(r["parameters"] for r in table)
    rows = [("layer", "type", "output shape", "parameters")]
    rows += [(r["name"], r["layer"], "×".join(map(str, r["output"] or [])), f"{r['parameters']:,}") for r in table]
    rows.append(("total", "", "", f"{total:,}"))
    return html_section(
        "model",
        "Model",
        f"<p>{escape(spec['model']['config'].get('type', 'model'))} on inputs of shape "
        f"{escape('×'.join(map(str, shape)))}; {total:,} parameters.</p>" + html_table(rows),
    )


def training(run: RunRecord) -> str:
    m = run.metrics
    if not run.history:
        return html_section(
            "training", "Training", "<p>No training in this folder (an evaluation of a saved bundle).</p>"
        )
    best = m.get("best_epoch")
    d = m.get("diagnosis") or {}
    lr = {r.get("lr") for r in run.history}
    text = f"<p>{m.get('epochs', len(run.history))} epochs"
    text += f" at a constant learning rate of {_num(lr.pop())}" if len(lr) == 1 else ""
    if best and d.get("best_epoch") not in (None, best):  # kept by the validation metric (train.stop_on)
        text += f"; weights of epoch {best} kept (best validation metric); lowest validation loss "
        text += f"{_num(d.get('best_val_loss'))} at epoch {d['best_epoch']}."
    else:
        text += f"; best validation loss {_num(d.get('best_val_loss'))} at epoch {best}." if best else "."
    text += "</p>"
    plot = html_figure(LossCurveDisplay.from_history(run.history, best_epoch=best).figure_, "Loss per epoch")
    findings = d.get("findings") or []
    if findings:
        diagnosis = "".join(f'<p class="finding">{escape(f)}</p>' for f in findings)
    else:
        gap = [g for g in d.get("gap", []) if g is not None]
        diagnosis = (
            "<p>No sign of overfitting: validation loss did not rise well above its best while training "
            f"loss kept falling. Final gap (validation − training loss): {_num(gap[-1]) if gap else 'n/a'}.</p>"
        )
    curve = m.get("data_curve")
    extra = ""
    if curve:
        extra = (
            "<h3>Data requirements</h3>"
            + html_figure(DataCurveDisplay.from_curve(curve).figure_, "Score against training-set size")
            + f'<p class="finding">{escape(curve["finding"])}</p>'
        )
    return html_section("training", "Training", text + plot + "<h3>Overfitting diagnosis</h3>" + diagnosis + extra)


def results(run: RunRecord) -> str:
    m = run.metrics
    ci = m.get("ci") or {}
    level = f"{ci.get('level', 0.95):.0%}"
    rows = [
        ("metric", "network", f"{level} interval", "baseline", f"{level} interval", "difference", f"{level} interval")
    ]
    for name, value in m["test"].items():
        base = m["baseline"].get(name)
        mark = " (decides)" if name == m["primary_metric"] else ""
        rows.append(
            (
                name + mark,
                _num(value),
                _pair(ci.get("model", {}).get(name)),
                _num(base),
                _pair(ci.get("baseline", {}).get(name)),
                _num(None if base is None or value is None else value - base, sign=True),
                _pair(ci.get("difference", {}).get(name)),
            )
        )
    body = (
        f"<p>Test split beside {escape(m['baseline_name'])}, fitted on the training split and scored on the "
        f"same rows. Intervals: {escape(ci.get('method', 'bootstrap'))}, {ci.get('samples', 0):,} resamples. "
        "Difference = network − baseline.</p>" + html_table(rows)
    )
    if ci.get("difference"):
        body += html_figure(DifferenceDisplay.from_metrics(m).figure_, "Primary metric with intervals")
    body += _reference(m)
    if m.get("champion"):
        c = m["champion"]
        body += (
            f"<h3>Champion</h3><p>{escape(c['path'])}: test {escape(m['primary_metric'])} "
            f"{_num(c['test'].get(m['primary_metric']))}; difference interval {_pair(c['difference'])}.</p>"
        )
    checks = m.get("checks") or []
    if checks:
        body += "<h3>Deploy gate</h3>" + html_table(
            [("gate", "result", "why")] + [(c["gate"], "pass" if c["passed"] else "FAIL", c["detail"]) for c in checks]
        )
    per = m.get("per_step")
    if per:
        body += "<h3>Error by step ahead</h3>" + html_table(
            [("step", "network MAE", "baseline MAE", "network RMSE", "baseline RMSE")]
            + [
                (
                    k + 1,
                    _num(per["mae"][k]),
                    _num(per["baseline_mae"][k]),
                    _num(per["rmse"][k]),
                    _num(per["baseline_rmse"][k]),
                )
                for k in range(len(per["mae"]))
            ]
        )
    body += "".join(f"<p class='note'>{escape(n)}</p>" for n in m.get("notes", []))
    return html_section("results", "Results", body)


def _reference(m: dict[str, Any]) -> str:
    """The classical reference (tables: gradient-boosted trees; text: TF-IDF + a linear model) beside the
    network and the naive baseline, where the run has one; what it means for the choice of model."""
    ref = m.get("reference")
    if not ref:
        return ""
    level = f"{(m.get('ci') or {}).get('level', 0.95):.0%}"
    primary = m["primary_metric"]
    name = str(ref.get("name", "reference"))
    rows = [("metric", "network", str(m.get("baseline_name", "baseline")), name)]
    rows += [
        (
            metric + (" (decides)" if metric == primary else ""),
            _num(m["test"].get(metric)),
            _num(m["baseline"].get(metric)),
            _num(value),
        )
        for metric, value in (ref.get("test") or {}).items()
    ]
    interval = ref.get("difference")
    if ref.get("beats_reference"):
        said = " The network beats it."
    elif interval and all(v is not None for v in interval) and favours(primary, interval) == "baseline":
        said = " It beats the network: consider the simpler model."
    else:
        said = " The network is not shown to beat it."
    return (
        f"<h3>Classical reference</h3><p>{escape(name)}, fitted on the same training rows "
        f"and scored on the same test rows: what a practitioner would try first without a network. "
        f"Difference in {escape(primary)} (network − reference), {level} "
        f"interval: {_pair(ref.get('difference'))}.{said}</p>"
        + html_table(rows)
        + (f'<p class="finding">{escape(ref["finding"])}</p>' if ref.get("finding") else "")
    )


def plots(run: RunRecord) -> str:
    title = TASK_PLOTS_TITLE.get(run.task, "Task plots")
    if run.vocabulary is not None:
        return html_section("plots", "Generation", _generation(run.metrics))
    if run.predictions is None:
        return html_section("plots", title, "<p>No predictions.csv in this folder.</p>")
    figures = task_plots(
        run.predictions, run.classes, run.time, run.metrics.get("baseline_name", ""), forecast=run.series is not None
    )
    return html_section(
        "plots", title, '<div class="grid">' + "".join(html_figure(f, t) for t, f in figures) + "</div>"
    )


def _generation(m: dict[str, Any]) -> str:
    from .generation import CharacterLossDisplay

    samples = "".join(f"<li>{escape(s)}</li>" for s in m.get("samples", []))
    novel = m.get("novel_share")
    share = f" {novel:.0%} of 200 samples are not in the training examples." if novel is not None else ""
    return (
        f"<p>Samples at temperature {m.get('temperature', 1.0)}.{share}</p><ol class='samples'>{samples}</ol>"
        + html_figure(CharacterLossDisplay.from_metrics(m).figure_, "Per-character loss")
    )


def html_section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{escape(title)}</h2>{body}</section>'


def html_figure(figure: Figure | SubFigure, caption: str) -> str:
    return (
        f'<figure><img src="{png_data_uri(figure)}" alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def html_table(rows: list[tuple[Any, ...]]) -> str:
    head, *body = rows
    th = "".join(f"<th>{escape(str(c))}</th>" for c in head)
    trs = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in body)
    return f'<div class="table"><table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table></div>'


def _num(x: float | None, *, sign: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    text = f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.1f}"
    return f"+{text}" if sign and x > 0 else text


def _pair(interval: list[float] | None) -> str:
    if not interval or any(v is None or not math.isfinite(v) for v in interval):
        return "n/a"
    return f"[{_num(interval[0])}, {_num(interval[1])}]"
