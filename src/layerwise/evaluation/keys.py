"""The top-level keys of metrics.json, declared once with what each means.

metrics.json is assembled in several places (judge, experiment, generation, reassess); this
list is what the guide's reference page (`layerwise.reference`) is generated from, and a test
runs real experiments and checks that every key they write is declared here, so a new key
cannot go undocumented.
"""

from __future__ import annotations

from typing import NamedTuple

TASKS = ("classification", "regression", "forecast", "generation")
TABULAR = ("classification", "regression", "forecast")


class MetricsKey(NamedTuple):
    name: str
    tasks: tuple[str, ...]  # the tasks whose metrics.json has this key
    description: str


METRICS_KEYS: tuple[MetricsKey, ...] = (
    MetricsKey("task", TASKS, "classification, regression, forecast or generation."),
    MetricsKey(
        "primary_metric",
        TASKS,
        "The metric that decides whether the model beats the baseline (evaluate.metric; auto: "
        "accuracy, mae, or cross_entropy for generation).",
    ),
    MetricsKey(
        "test",
        TASKS,
        "The model's metrics on the test split: accuracy, balanced_accuracy, f1_macro, log_loss "
        "(and roc_auc for two classes); mae, rmse, r2, mape; cross_entropy, bits_per_char, perplexity. "
        "Over a forecast's steps ahead (horizon > 1) each is the mean of the steps' scores, as "
        "scikit-learn averages outputs (multioutput='uniform_average'): rmse is the mean of per_step's "
        "rmse (scikit-learn's root_mean_squared_error), not the root of the pooled squared errors.",
    ),
    MetricsKey("baseline", TASKS, "The same metrics for the naive baseline on the same test rows."),
    MetricsKey(
        "baseline_name",
        TASKS,
        "Which baseline decides: the training median (regression judged on mae or mape, where the "
        "median is the best constant) or the training mean (rmse, r2), the majority class, "
        "persistence ('tomorrow = today'), seasonal naive (evaluate.baseline: seasonal_naive), "
        "the bigram baseline.",
    ),
    MetricsKey(
        "other_baselines",
        ("forecast",),
        "Forecasts with evaluate.season: the baseline that does not decide (seasonal naive beside "
        "persistence, or persistence beside seasonal naive), each with its name, its metrics on the "
        "same windows (baseline), beats_baseline and a finding; reported only, no gate reads it.",
    ),
    MetricsKey(
        "reference",
        ("classification", "regression"),
        "Tables and runs with text columns (evaluate.reference: auto): the classical reference fitted on the "
        "same training rows and scored on the same test rows. Tables: gradient-boosted trees "
        "(scikit-learn's HistGradientBoosting with its defaults: categories as native categorical splits, "
        "missing values as the trees' own branch, dates as year, month, day and weekday), stopped and left out "
        "with a note past evaluate.reference_seconds; a streamed table has none. Text: TF-IDF of word "
        "1-2-grams, with the other features, + logistic regression or ridge, its regularization chosen on the "
        "validation rows. Its name, its metrics on the same test rows (test), the paired interval of "
        "network - reference on the deciding metric (difference), beats_reference and a finding that says "
        "plainly when the network does not beat it (consider the simpler model). Decides only with "
        "evaluate.gates.beat_reference. Fitted once per run, at training time: `layerwise evaluate` does not "
        "refit it.",
    ),
    MetricsKey("beats_baseline", TASKS, "true when the model's primary metric is better than the baseline's."),
    MetricsKey("finding", TASKS, "One sentence with the deciding numbers: model vs baseline on the primary metric."),
    MetricsKey(
        "ci",
        TASKS,
        "Paired-bootstrap intervals: level, samples, block (moving-block length for series), method, "
        "and per metric the model's, the baseline's and the difference's [low, high]; degenerate: true "
        "when the test split has fewer than 20 rows, where no gate passes.",
    ),
    MetricsKey("verdict", TASKS, "DEPLOY or DO NOT DEPLOY (`--gate` exits 4 on the latter)."),
    MetricsKey("reasons", TASKS, "Why the verdict, one line per gate check."),
    MetricsKey(
        "checks",
        TASKS,
        "Each gate check (beat the baseline, evaluate.gates.min / max, the champion, beat_reference, and "
        "test_rows when the test split is under 20 rows) with its numbers and whether it passed.",
    ),
    MetricsKey("headline", TASKS, "The verdict in one sentence with its reasons."),
    MetricsKey("notes", TASKS, "Caveats met while scoring (e.g. a metric left out and why)."),
    MetricsKey(
        "cleaning",
        TASKS,
        "What cleaning changed: rows_in, rows_out and one entry per change (dropped rows, columns, imputed values).",
    ),
    MetricsKey("rows", TASKS, "Rows (windows for a forecast, examples for generation) in each split."),
    MetricsKey("seconds", TASKS, "Training time in seconds."),
    MetricsKey("best_epoch", TASKS, "The epoch whose weights were kept (early stopping restores it)."),
    MetricsKey("epochs", TASKS, "Epochs trained."),
    MetricsKey(
        "resumed",
        TASKS,
        "`run --resume` only: the checkpoint training went on from (checkpoint, epochs, steps done) "
        "and each key --allow-changed let differ from it, as [old, new].",
    ),
    MetricsKey(
        "diagnosis",
        TASKS,
        "The loss curves read: best_epoch, best_val_loss, final train and validation loss, gap, "
        "overfitting, still_improving, and the findings in words.",
    ),
    MetricsKey(
        "leakage",
        TASKS,
        "Leakage audit warnings between train and test (duplicated rows, target proxies, time "
        "overlap); empty when none (null from `layerwise evaluate`).",
    ),
    MetricsKey(
        "data",
        TASKS,
        "A data summary for the report: each column's kind, the target's histogram (regression, "
        "forecast) or class counts per split (classification).",
    ),
    MetricsKey(
        "data_curve",
        TASKS,
        "With evaluate.data_curve: the validation score when training on 25/50/75/100% of the "
        "training split, the fitted trend and whether more data still helps; otherwise null.",
    ),
    MetricsKey(
        "baseline_fit",
        TASKS,
        "What the baseline learned from the training split (the mean and the median, the class "
        "priors; nothing for a forecast), so `layerwise evaluate` scores new data against the same "
        "baseline. A streamed run's median is that of a uniform sample of up to 100,000 training "
        "targets. Bundles saved with the mean only are judged beside the mean, with a note.",
    ),
    MetricsKey(
        "per_step",
        ("forecast",),
        "Forecasts with data.window.horizon > 1: mae and rmse of the model and the baseline at each step ahead.",
    ),
    MetricsKey(
        "champion",
        TASKS,
        "With evaluate.gates.compare_to: the champion bundle's path, its test metrics and the "
        "paired difference on the primary metric.",
    ),
    MetricsKey("source", TABULAR, "`layerwise evaluate` only: the data file the bundle was evaluated on."),
    MetricsKey("samples", ("generation",), "Up to 20 texts sampled from the trained model."),
    MetricsKey("novel_share", ("generation",), "Share of the samples that do not occur in the training text."),
    MetricsKey("temperature", ("generation",), "The sampling temperature used for `samples`."),
    MetricsKey("vocabulary", ("generation",), "The characters the model knows."),
    MetricsKey(
        "per_position", ("generation",), "Cross-entropy of the model and of the baseline at each character position."
    ),
)


def documented(task: str) -> set[str]:
    """The keys declared for `task`."""
    return {key.name for key in METRICS_KEYS if task in key.tasks}
