"""Tests of tennis_lab.plots: each figure's axes, titles, labels and drawn values."""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tennis_lab import plots  # noqa: E402
from tennis_lab.plots import (  # noqa: E402
    ANNOTATED_GID,
    BEST_EPOCH_GID,
    CAUTION_GID,
    DETECTED_GID,
    ERRORBAR_GID,
    FLAGGED_GID,
    HIGHLIGHT_GID,
    PARETO_FRONT_GID,
    TIED_GID,
    UNCOVERED_GID,
    class_counts_figure,
    class_recall_figure,
    confusion_matrix_figure,
    finalists_figure,
    importance_figure,
    interaction_heatmap,
    learning_curves_figure,
    metric_by_value_figure,
    overfitting_figure,
    pareto_figure,
    per_class_figure,
    ranking_figure,
    timeline_figure,
    tradeoff_figure,
)

CLASSES = ("forehand", "backhand", "serve")
HISTORY = {
    "loss": [1.10, 0.80, 0.62, 0.55, 0.50, 0.47],
    "val_loss": [1.05, 0.85, 0.70, 0.72, 0.69, 0.74],  # lowest at index 4 -> epoch 5
    "accuracy": [0.40, 0.60, 0.71, 0.76, 0.79, 0.81],
    "val_accuracy": [0.42, 0.58, 0.66, 0.65, 0.68, 0.67],
    "learning_rate": [1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4],
}
COUNTS = {
    "train": {"forehand": 120, "backhand": 80, "serve": 40},
    "val": {"forehand": 30, "backhand": 15, "serve": 9},
    "test": {"forehand": 28, "backhand": 20, "serve": 11},
}
METRICS = {
    "forehand_precision": 0.91,
    "forehand_recall": 0.85,
    "forehand_f1_score": 0.88,
    "backhand_precision": 0.72,
    "backhand_recall": 0.80,
    "backhand_f1_score": 0.76,
    "serve_precision": 0.95,
    "serve_recall": 0.60,
    "serve_f1_score": 0.74,
    "serve_support": 11.0,  # other keys are ignored
    "test_accuracy": 0.8,
}


@pytest.fixture(autouse=True)
def _isolate_figures():
    """Close every figure a test made and restore matplotlib's settings, even when it fails."""
    with matplotlib.rc_context():
        yield
    plt.close("all")


def tick_texts(labels) -> list[str]:
    return [t.get_text() for t in labels]


def cell_text(ax, row: int, col: int) -> str:
    """The annotation of heatmap cell (row, col), found by its position."""
    found = [
        t.get_text() for t in ax.texts if np.allclose(t.get_position(), (col + 0.5, row + 0.5))
    ]
    assert len(found) == 1, f"expected one annotation at cell ({row}, {col}); got {found}"
    return found[0]


def bar_heights(ax) -> list[list[float]]:
    """Bar heights per hue level (one container each), in x order."""
    return [[bar.get_height() for bar in container] for container in ax.containers]


def best_lines(ax) -> list:
    return [line for line in ax.get_lines() if line.get_gid() == BEST_EPOCH_GID]


# --- confusion matrix -------------------------------------------------------------------


def test_confusion_matrix_annotates_row_percent_and_count():
    fig = confusion_matrix_figure(np.array([[8, 2], [1, 9]]), ["forehand", "serve"])
    ax = fig.axes[0]
    expected = {(0, 0): ("80%", "(8)"), (0, 1): ("20%", "(2)"), (1, 0): ("10%", "(1)")}
    expected[(1, 1)] = ("90%", "(9)")
    for (i, j), (percent, count) in expected.items():
        text = cell_text(ax, i, j)
        assert percent in text and count in text, (i, j, text)
    assert len(ax.texts) == 4


def test_confusion_matrix_colours_cells_by_recall():
    fig = confusion_matrix_figure(np.array([[8, 2], [1, 9]]), ["forehand", "serve"])
    mesh = fig.axes[0].collections[0]
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(2, 2), [[0.8, 0.2], [0.1, 0.9]])
    assert mesh.norm.vmin == 0.0 and mesh.norm.vmax == 1.0


def test_confusion_matrix_layout_labels_and_title():
    fig = confusion_matrix_figure(np.eye(3, dtype=int) * 5, CLASSES)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # heatmap and its colour bar
    ax = fig.axes[0]
    assert tick_texts(ax.get_xticklabels()) == list(CLASSES)
    assert tick_texts(ax.get_yticklabels()) == list(CLASSES)
    assert ax.get_xlabel() == "Predicted" and ax.get_ylabel() == "True"
    assert ax.get_title() == "Confusion matrix"
    fig2 = confusion_matrix_figure(np.eye(3, dtype=int), CLASSES, title="Test split")
    assert fig2.axes[0].get_title() == "Test split"


def test_confusion_matrix_zero_support_row_shows_zero_without_warnings():
    confusion = np.array([[5, 0, 1], [0, 0, 0], [2, 0, 3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = confusion_matrix_figure(confusion, CLASSES)
    ax = fig.axes[0]
    values = np.asarray(ax.collections[0].get_array()).reshape(3, 3)
    assert not np.isnan(values).any()
    np.testing.assert_allclose(values[1], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(values[0], [5 / 6, 0.0, 1 / 6])
    for j in range(3):
        assert cell_text(ax, 1, j).startswith("0%"), cell_text(ax, 1, j)
    assert "83%" in cell_text(ax, 0, 0) and "(5)" in cell_text(ax, 0, 0)


def test_confusion_matrix_raw_counts_when_not_normalized():
    confusion = np.array([[8, 2], [1, 9]])
    fig = confusion_matrix_figure(confusion, ["forehand", "serve"], normalize=False)
    ax = fig.axes[0]
    np.testing.assert_allclose(np.asarray(ax.collections[0].get_array()).reshape(2, 2), confusion)
    assert [cell_text(ax, 0, 0), cell_text(ax, 1, 1)] == ["8", "9"]
    assert not any("%" in t.get_text() for t in ax.texts)


@pytest.mark.parametrize(
    "confusion, classes",
    [(np.zeros((2, 2)), CLASSES), (np.zeros((3, 2)), CLASSES), (np.zeros(3), CLASSES)],
)
def test_confusion_matrix_rejects_shape_not_matching_classes(confusion, classes):
    with pytest.raises(ValueError, match="square with one row and column per class"):
        confusion_matrix_figure(confusion, classes)


# --- learning curves --------------------------------------------------------------------


def test_learning_curves_panels_titles_and_log_learning_rate():
    fig = learning_curves_figure(HISTORY)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy", "Learning rate"]
    assert fig.axes[2].get_yscale() == "log"
    assert fig.get_suptitle() == "Learning curves"
    assert learning_curves_figure(HISTORY, title="run 3").get_suptitle() == "run 3"


def test_learning_curves_plot_history_values_against_epochs_from_one():
    fig = learning_curves_figure(HISTORY)
    drawn = {
        (ax.get_title(), line.get_label()): line
        for ax in fig.axes
        for line in ax.get_lines()
        if line.get_gid() != BEST_EPOCH_GID
    }
    pairs = {
        ("Loss", "train"): "loss",
        ("Loss", "validation"): "val_loss",
        ("Accuracy", "train"): "accuracy",
        ("Accuracy", "validation"): "val_accuracy",
        ("Learning rate", "learning rate"): "learning_rate",
    }
    assert set(drawn) == set(pairs)
    for panel_label, key in pairs.items():
        line = drawn[panel_label]
        np.testing.assert_allclose(line.get_ydata(), HISTORY[key])
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, len(HISTORY[key]) + 1))


def test_learning_curves_of_a_continued_run_count_on_from_its_first_epoch():
    history = {"loss": [0.5, 0.4], "val_loss": [0.6, 0.55]}
    fig = learning_curves_figure(history, first_epoch=3)
    (line, *_) = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == [4, 5]
    best = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"]
    assert best and list(best[0].get_xdata())[0] == 5


def test_learning_curves_mark_best_epoch_at_argmin_val_loss_in_every_panel():
    fig = learning_curves_figure(HISTORY)
    best_epoch = int(np.argmin(HISTORY["val_loss"])) + 1
    assert best_epoch == 5
    for ax in fig.axes:
        (line,) = best_lines(ax)
        assert list(line.get_xdata()) == [best_epoch, best_epoch]
    legend = tick_texts(fig.axes[0].get_legend().get_texts())
    assert any(text.startswith("best epoch 5") for text in legend), legend


def test_learning_curves_without_learning_rate_have_two_panels():
    history = {k: v for k, v in HISTORY.items() if k != "learning_rate"}
    fig = learning_curves_figure(history)
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy"]
    assert all(ax.get_yscale() == "linear" for ax in fig.axes)


def test_learning_curves_with_only_loss_have_one_panel_and_no_best_line():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = learning_curves_figure({"loss": [0.9, 0.5, 0.4]})
    (ax,) = fig.axes
    assert ax.get_title() == "Loss"
    assert best_lines(ax) == []
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), [0.9, 0.5, 0.4])


def test_learning_curves_reject_history_without_known_keys():
    with pytest.raises(ValueError, match="history has no loss"):
        learning_curves_figure({"lr": [0.1], "loss": []})


# --- class counts -----------------------------------------------------------------------


def test_class_counts_bar_heights_equal_counts_per_split():
    fig = class_counts_figure(COUNTS)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert bar_heights(ax) == [[COUNTS[s][c] for c in CLASSES] for s in ("train", "val", "test")]
    assert tick_texts(ax.get_xticklabels()) == list(CLASSES)
    assert tick_texts(ax.get_legend().get_texts()) == ["train", "val", "test"]
    assert ax.get_title() == "Windows per class"
    assert class_counts_figure(COUNTS, title="Balance").axes[0].get_title() == "Balance"


def test_class_counts_class_missing_from_a_split_counts_zero():
    counts = {"train": {"forehand": 3, "serve": 4}, "test": {"serve": 2, "backhand": 1}}
    ax = class_counts_figure(counts).axes[0]
    assert tick_texts(ax.get_xticklabels()) == ["forehand", "serve", "backhand"]
    assert bar_heights(ax) == [[3, 4, 0], [0, 2, 1]]


def test_class_counts_reject_empty():
    with pytest.raises(ValueError, match="counts_by_split is empty"):
        class_counts_figure({})


# --- per-class metrics ------------------------------------------------------------------


def test_per_class_bar_heights_equal_metrics():
    fig = per_class_figure(METRICS, CLASSES)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    expected = [[METRICS[f"{c}_{m}"] for c in CLASSES] for m in plots.PER_CLASS_METRICS]
    np.testing.assert_allclose(bar_heights(ax), expected)
    assert tick_texts(ax.get_xticklabels()) == list(CLASSES)
    assert tick_texts(ax.get_legend().get_texts()) == ["precision", "recall", "F1"]
    assert ax.get_ylim() == (0.0, 1.1)
    assert ax.get_title() == "Precision, recall and F1 per class"
    assert per_class_figure(METRICS, CLASSES, title="Test").axes[0].get_title() == "Test"


def test_per_class_rejects_missing_metric_naming_it():
    metrics = {k: v for k, v in METRICS.items() if k != "serve_recall"}
    with pytest.raises(ValueError, match="serve_recall"):
        per_class_figure(metrics, CLASSES)


# --- timeline of a recording ------------------------------------------------------------

TIMELINE_CLASSES = ["idle", "forehand", "serve"]
FPS = 30


def timeline_probs(n_frames: int = 300) -> np.ndarray:
    """10 s at 30 fps: idle, a forehand at 2-4 s, a serve at 6-8 s, uncovered from 9.5 s."""
    probs = np.tile([0.8, 0.1, 0.1], (n_frames, 1))
    probs[60:120] = [0.1, 0.8, 0.1]
    probs[180:240] = [0.1, 0.1, 0.8]
    probs[285:] = np.nan
    return probs


DETECTED = {
    "start": np.array([60, 180]),
    "end": np.array([120, 240]),
    "label": np.array([1, 2]),
    "confidence": np.array([0.8, 0.75]),
}
ANNOTATED = {"start": np.array([63, 150, 185]), "end": np.array([118, 168, 235]),
             "label": np.array([1, 1, 2])}  # fmt: skip


def spans(ax, gid: str) -> list[tuple[float, float, str]]:
    """(start s, end s, colour) of the spans with ``gid``, in time order."""
    found = [
        (p.get_x(), p.get_x() + p.get_width(), matplotlib.colors.to_hex(p.get_facecolor()[:3]))
        for p in ax.patches
        if p.get_gid() == gid
    ]
    return sorted(found)


def line_colours(fig) -> dict[str, str]:
    return {
        line.get_label(): matplotlib.colors.to_hex(line.get_color())
        for line in fig.axes[0].get_lines()
    }


def test_timeline_lines_are_the_probabilities_against_seconds():
    probs = timeline_probs()
    fig = timeline_figure(probs, TIMELINE_CLASSES, FPS)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes  # no strokes given: no bands
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == TIMELINE_CLASSES
    for k, line in enumerate(lines):
        np.testing.assert_allclose(line.get_xdata(), np.arange(300) / FPS)
        np.testing.assert_array_equal(line.get_ydata(), probs[:, k])  # NaN gaps kept
    assert len(set(line_colours(fig).values())) == 3
    assert line_colours(fig)["idle"] == matplotlib.colors.to_hex(plots.IDLE_COLOR)
    (shade,) = [p for p in ax.patches if p.get_gid() == UNCOVERED_GID]
    np.testing.assert_allclose([shade.get_x(), shade.get_x() + shade.get_width()], [9.5, 10.0])
    assert tick_texts(ax.get_legend().get_texts()) == TIMELINE_CLASSES + ["no window"]
    assert ax.get_xlim() == (0.0, 10.0) and ax.get_xlabel() == "time (s)"
    assert ax.get_title() == "Stroke timeline"
    assert timeline_figure(probs, TIMELINE_CLASSES, FPS, title="T").axes[0].get_title() == "T"
    covered = timeline_figure(probs[:285], TIMELINE_CLASSES, 15).axes[0]
    assert [p for p in covered.patches if p.get_gid() == UNCOVERED_GID] == []
    np.testing.assert_allclose(covered.get_lines()[0].get_xdata()[-1], 284 / 15)


def test_timeline_spans_at_the_right_seconds_in_class_colours_with_labels():
    fig = timeline_figure(timeline_probs(), TIMELINE_CLASSES, FPS, detected=DETECTED)
    top, band = fig.axes
    colours = line_colours(fig)
    assert spans(band, DETECTED_GID) == [
        (2.0, 4.0, colours["forehand"]),
        (6.0, 8.0, colours["serve"]),
    ]
    assert tick_texts(band.get_yticklabels()) == ["detected\n2 strokes"]
    assert texts_with_gid(band, DETECTED_GID) == ["forehand\n80%", "serve\n75%"]
    assert [t.get_position()[0] for t in band.texts] == [3.0, 7.0]  # centred on the spans
    assert band.get_shared_x_axes().joined(top, band)


def test_timeline_annotated_band_only_when_given_and_labels_only_where_they_fit():
    probs = timeline_probs()
    detected_only = timeline_figure(probs, TIMELINE_CLASSES, FPS, detected=DETECTED)
    assert len(detected_only.axes) == 2
    assert [
        p for ax in detected_only.axes for p in ax.patches if p.get_gid() == ANNOTATED_GID
    ] == []
    fig = timeline_figure(probs, TIMELINE_CLASSES, FPS, detected=DETECTED, annotated=ANNOTATED)
    _, det_band, ann_band = fig.axes
    assert tick_texts(ann_band.get_yticklabels()) == ["annotated\n3 strokes"]
    forehand = line_colours(fig)["forehand"]
    assert spans(ann_band, ANNOTATED_GID)[:2] == [(2.1, 118 / FPS, forehand), (5.0, 5.6, forehand)]
    assert spans(det_band, ANNOTATED_GID) == []
    # no confidence: the class name only
    assert texts_with_gid(ann_band, ANNOTATED_GID) == ["forehand", "forehand", "serve"]
    annotated_only = timeline_figure(probs, TIMELINE_CLASSES, FPS, annotated=ANNOTATED)
    assert tick_texts(annotated_only.axes[1].get_yticklabels()) == ["annotated\n3 strokes"]
    # a two-frame stroke right next to another: no room for a label
    crowded = {"start": np.array([60, 121]), "end": np.array([120, 123]), "label": np.array([1, 2])}
    band = timeline_figure(probs, TIMELINE_CLASSES, FPS, detected=crowded).axes[1]
    assert texts_with_gid(band, DETECTED_GID) == ["forehand"]
    assert len(spans(band, DETECTED_GID)) == 2


def test_timeline_of_a_long_recording_caps_the_width_and_labels_only_wide_spans():
    n = 10 * 60 * FPS
    probs = np.tile([0.8, 0.1, 0.1], (n, 1))
    starts = np.arange(30, n - 60, 90)  # a stroke every 3 s, 1 s long
    strokes = {"start": starts, "end": starts + 30, "label": 1 + np.arange(len(starts)) % 2,
               "confidence": np.full(len(starts), 0.9)}  # fmt: skip
    fig = timeline_figure(probs, TIMELINE_CLASSES, FPS, detected=strokes, annotated=strokes)
    assert fig.get_figwidth() == plots.TIMELINE_MAX_WIDTH
    assert timeline_figure(probs[:300], TIMELINE_CLASSES, FPS).get_figwidth() < fig.get_figwidth()
    band = fig.axes[1]
    assert len(spans(band, DETECTED_GID)) == len(starts)
    assert texts_with_gid(band, DETECTED_GID) == []  # 1 s is too short to label at this scale
    # a 100 s stroke among them is labelled
    wide = {"start": np.append(starts[:10], 6000), "end": np.append(starts[:10] + 30, 9000),
            "label": np.append(strokes["label"][:10], 2)}  # fmt: skip
    band = timeline_figure(probs, TIMELINE_CLASSES, FPS, detected=wide).axes[1]
    assert texts_with_gid(band, DETECTED_GID) == ["serve"]


@pytest.mark.parametrize("every, frames", [(90, 40), (50, 40), (30, 15), (20, 18)])
def test_timeline_labels_of_neighbouring_spans_do_not_overlap(every, frames):
    n = 60 * FPS
    starts = np.arange(30, n - 60, every)
    strokes = {"start": starts, "end": starts + frames, "label": 1 + np.arange(len(starts)) % 2,
               "confidence": np.full(len(starts), 0.9)}  # fmt: skip
    fig = timeline_figure(np.full((n, 3), 1 / 3), TIMELINE_CLASSES, FPS, detected=strokes)
    band = fig.axes[1]
    boxes = sorted((t.get_window_extent() for t in band.texts), key=lambda box: box.x0)
    if every == 90:  # 3 s apart: room for every label
        assert len(boxes) == len(starts)
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:], strict=False))
    inside = band.get_window_extent()
    assert all(inside.x0 <= box.x0 and box.x1 <= inside.x1 for box in boxes)


def test_timeline_with_no_detections_says_so():
    empty = {"start": np.array([], int), "end": np.array([], int), "label": np.array([], int)}
    band = timeline_figure(timeline_probs(), TIMELINE_CLASSES, FPS, detected=empty).axes[1]
    assert spans(band, DETECTED_GID) == []
    assert texts_with_gid(band, DETECTED_GID) == ["no strokes"]
    assert tick_texts(band.get_yticklabels()) == ["detected\n0 strokes"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"frame_probs": np.ones((10, 2))}, r"frame_probs must be \(frames, classes\).*\(10, 2\)"),
        ({"frame_probs": np.ones((0, 3))}, r"at least one frame"),
        ({"classes": []}, r"classes is empty"),
        ({"fps": 0}, r"fps must be a positive number .*got 0"),
        ({"fps": float("nan")}, r"fps must be a positive number"),
        ({"detected": {"start": [1], "end": [5]}}, r"detected must be a mapping with arrays"),
        ({"detected": [(1, 5)]}, r"detected must be a mapping .*got list"),
        ({"annotated": {**ANNOTATED, "label": np.array([1, 3, 2])}},
         r"annotated\['label'\]\[1\] = 3 is not a class code 0..2"),
        ({"annotated": {**ANNOTATED, "end": np.array([118, 168, 400])}},
         r"annotated stroke 2 spans frames \[185, 400\), not a non-empty range within the 300"),
        ({"detected": {**DETECTED, "end": np.array([60, 240])}}, r"detected stroke 0 spans"),
        ({"detected": {**DETECTED, "confidence": np.array([0.5])}},
         r"detected arrays must have one entry per stroke"),
        ({"detected": {**DETECTED, "start": np.array([60.0, 180.0])}},
         r"detected\['start'\] must hold whole numbers"),
    ],
)  # fmt: skip
def test_timeline_rejects_bad_input(kwargs, match):
    kwargs = {"frame_probs": timeline_probs(), "classes": TIMELINE_CLASSES, "fps": FPS, **kwargs}
    with pytest.raises(ValueError, match=match):
        timeline_figure(**kwargs)


# --- all figures ------------------------------------------------------------------------

FIGURES = {
    "confusion": lambda: confusion_matrix_figure(
        np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]]), CLASSES
    ),
    "curves": lambda: learning_curves_figure(HISTORY),
    "counts": lambda: class_counts_figure(COUNTS),
    "per_class": lambda: per_class_figure(METRICS, CLASSES),
    "timeline": lambda: timeline_figure(
        timeline_probs(), TIMELINE_CLASSES, FPS, detected=DETECTED, annotated=ANNOTATED
    ),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_saves_to_png_without_warnings(name, tmp_path: Path):
    path = tmp_path / f"{name}.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = FIGURES[name]()
        fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 1000


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_leaves_global_style_unchanged(name):
    before = dict(matplotlib.rcParams)
    FIGURES[name]()
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


def test_plots_imports_only_the_results_schema_of_the_package():
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for path in Path(plots.__file__).parent.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    package = {name for name in imported if name and name.startswith("tennis_lab")}
    assert {name for name in package if not name.startswith("tennis_lab.plots")} == {
        "tennis_lab.results"
    }


# --- figures of a search's results table ------------------------------------------------

RESULTS = pd.DataFrame(
    {
        "run_number": [1, 2, 3, 4, 5, 6, 7],
        "status": ["COMPLETED"] * 3 + ["FAILED"] + ["COMPLETED"] * 3,
        "lstm_layers": [
            "[64, 32]",
            "[128, 64]",
            "[64, 32]",
            "[128, 64]",
            "[128, 64, 32]",
            "[128,64]",  # the same value written differently: grouped with "[128, 64]"
            "[64, 32]",
        ],
        "learning_rate": [0.001, 0.001, 0.0005, 0.0005, 0.0001, 0.0001, 0.0001],
        "window_size": [30, 45, 45, 30, 30, 45, 30],
        "val_stroke_macro_f1": [0.80, 0.88, 0.84, np.nan, 0.91, 0.86, 0.82],
        "val_macro_f1_score": [0.75, 0.83, 0.80, np.nan, 0.86, 0.81, 0.78],  # windows
        "macro_f1_score": [0.78, 0.86, 0.83, np.nan, 0.87, 0.85, 0.81],
        "train_macro_f1_score": [0.90, 0.97, 0.88, np.nan, 0.99, 0.95, 0.86],
        "training_time_minutes": [1.0, 2.0, 1.5, np.nan, 3.0, 2.5, 0.9],
        "trainable_params": [30_000, 120_000, 30_000, 120_000, 150_000, 120_000, 30_000],
        "inference_ms_per_window": [0.8, 1.2, 0.8, np.nan, 1.5, 1.1, 0.7],
    }
)
SELECTION = "val_stroke_macro_f1"
# Runs 2, 3 and 5 were cross-validated: their scores have a std over folds.
WITH_STD = RESULTS.assign(
    val_stroke_macro_f1_std=[np.nan, 0.02, 0.03, np.nan, 0.05, np.nan, np.nan]
)
BOARD = pd.DataFrame(
    {
        "run_number": [5, 2, 6, 3],
        SELECTION: [0.91, 0.88, 0.86, 0.84],
        "val_stroke_macro_f1_std": [0.05, 0.02, np.nan, 0.03],
    }
)
# Lower training time and higher validation F1: runs 7, 3, 2 and 5 (in time order).
ON_FRONT = RESULTS["run_number"].isin([2, 3, 5, 7])
INTERACTION = pd.DataFrame(
    [[0.84, np.nan, 0.876], [0.8123, 0.8456, 0.8]],
    index=pd.Index(["[128, 64]", "[64, 32]"], name="lstm_layers"),
    columns=pd.Index([0.001, 0.0001, 0.0005], name="learning_rate"),
)
IMPORTANCE = pd.DataFrame(
    {
        "parameter": ["learning_rate", "lstm_layers", "dropout_rates", "window_size"],
        "importance": [0.31, 0.52, np.nan, 0.123],
    }
)
BALANCE = pd.DataFrame(
    {
        "run_number": [5, 2, 4],
        "forehand_recall": [0.95, 0.90, np.nan],
        "backhand_recall": [0.851, 0.70, np.nan],
        "serve_recall": [0.99, 0.98, np.nan],
        "unbalanced": [False, True, np.nan],
    }
)
OVERFITTING = pd.DataFrame(
    {
        "run_number": [5, 2, 7],
        "train_macro_f1_score": [0.99, 0.97, 0.86],
        "val_macro_f1_score": [0.91, 0.88, 0.82],
        "macro_f1_score": [0.87, np.nan, 0.81],
        "overfitting": [True, False, False],
    }
)


def points(ax, gid=None) -> np.ndarray:
    """(x, y) of every scatter point in ``ax`` (only those of collections with ``gid``)."""
    offsets = [
        np.asarray(c.get_offsets(), dtype=float).reshape(-1, 2)
        for c in ax.collections
        if isinstance(c, PathCollection) and (gid is None or c.get_gid() == gid)
    ]
    return np.concatenate(offsets) if offsets else np.empty((0, 2))


def sorted_rows(array: np.ndarray) -> np.ndarray:
    return array[np.lexsort(array.T[::-1])]


def texts_with_gid(ax, gid: str) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


# --- labels and the selection metric ----------------------------------------------------


def test_the_default_metric_is_the_training_selection_metric():
    from tennis_lab.results import SELECTION_METRIC

    assert plots.SELECTION_METRIC == SELECTION_METRIC
    assert metric_by_value_figure(RESULTS, "window_size").axes[0].get_ylabel() == (
        "validation macro F1 (strokes)"
    )


@pytest.mark.parametrize(
    "column, label",
    [
        ("val_stroke_macro_f1", "validation macro F1 (strokes)"),
        ("test_stroke_macro_f1", "test macro F1 (strokes)"),
        ("worst_group_macro_f1", "worst group macro F1"),
        ("val_macro_f1_score", "validation macro F1 (windows)"),
        ("macro_f1_score", "test macro F1 (windows)"),
        ("val_stroke_macro_f1_std", "validation macro F1 (strokes) (std over folds)"),
        ("dropout", "dropout"),
    ],
)
def test_axis_labels_say_which_score_a_column_is(column, label):
    df = RESULTS.assign(**{column: RESULTS[SELECTION]})
    assert metric_by_value_figure(df, "window_size", metric=column).axes[0].get_ylabel() == label


def error_segments(ax) -> list[np.ndarray]:
    """The segments of the error bars (gid ``"std"``) in ``ax``."""
    return [
        np.asarray(seg)
        for c in ax.collections
        if c.get_gid() == ERRORBAR_GID
        for seg in c.get_segments()
    ]


# --- metric by parameter value ----------------------------------------------------------


def test_metric_by_value_orders_values_as_numbers_and_lists_not_text():
    ax = metric_by_value_figure(RESULTS, "lstm_layers").axes[0]
    assert tick_texts(ax.get_xticklabels()) == ["[64, 32]", "[128, 64]", "[128, 64, 32]"]
    as_lists = RESULTS.assign(lstm_layers=[json.loads(v) for v in RESULTS["lstm_layers"]])
    as_lists.at[4, "lstm_layers"] = (128, 64, 32)  # a tuple reads as a list
    ax = metric_by_value_figure(as_lists, "lstm_layers").axes[0]
    assert tick_texts(ax.get_xticklabels()) == ["[64, 32]", "[128, 64]", "[128, 64, 32]"]
    ax = metric_by_value_figure(RESULTS, "learning_rate").axes[0]
    assert tick_texts(ax.get_xticklabels()) == ["0.0001", "0.0005", "0.001"]
    df = RESULTS.assign(window_size=[30.0, 45.0, 45.0, 30.0, np.nan, 45.0, 30.0])
    ax = metric_by_value_figure(df, "window_size").axes[0]
    assert tick_texts(ax.get_xticklabels()) == ["30", "45", "n/a"]


def test_metric_by_value_draws_every_completed_run_in_its_value_column():
    fig = metric_by_value_figure(RESULTS, "lstm_layers")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    drawn = points(ax)
    expected_y = RESULTS[SELECTION].dropna().sort_values()
    np.testing.assert_allclose(np.sort(drawn[:, 1]), expected_y)
    column = {0.80: 0, 0.84: 0, 0.82: 0, 0.88: 1, 0.86: 1, 0.91: 2}
    for x, y in drawn:
        assert abs(x - column[round(y, 2)]) <= 0.16, (x, y)
    assert ax.get_xlabel() == "lstm_layers"
    assert ax.get_ylabel() == "validation macro F1 (strokes)"
    assert ax.get_title() == "Validation macro F1 (strokes) by lstm_layers"
    other = metric_by_value_figure(RESULTS, "lstm_layers", metric="macro_f1_score", title="T")
    assert other.axes[0].get_title() == "T"
    np.testing.assert_allclose(
        np.sort(points(other.axes[0])[:, 1]), RESULTS["macro_f1_score"].dropna().sort_values()
    )


def test_metric_by_value_boxes_have_the_median_of_each_value():
    ax = metric_by_value_figure(RESULTS, "lstm_layers").axes[0]
    medians = {0: 0.82, 1: 0.87, 2: 0.91}
    for position, median in medians.items():
        found = [
            line
            for line in ax.get_lines()
            if len(line.get_xdata()) == 2
            and np.allclose(line.get_ydata(), [median, median])
            and np.allclose(np.mean(line.get_xdata()), position)
            and np.ptp(line.get_xdata()) > 0.5
        ]
        assert found, f"no median line at {median} for value {position}"


def test_metric_by_value_highlights_top_runs_with_labels():
    ax = metric_by_value_figure(RESULTS, "lstm_layers", top_runs=[5, 2, 4, 99, np.nan]).axes[0]
    # run 4 failed and run 99 does not exist: neither is drawn; a missing number is skipped
    np.testing.assert_allclose(sorted_rows(points(ax, HIGHLIGHT_GID)), [[1.0, 0.88], [2.0, 0.91]])
    assert sorted(texts_with_gid(ax, HIGHLIGHT_GID)) == ["run 2", "run 5"]
    plain_y = np.sort(points(ax)[:, 1])
    np.testing.assert_allclose(plain_y, [0.80, 0.82, 0.84, 0.86, 0.88, 0.91])  # each run once
    assert "top runs" in tick_texts(ax.get_legend().get_texts())
    without = metric_by_value_figure(RESULTS, "lstm_layers").axes[0]
    assert points(without, HIGHLIGHT_GID).size == 0 and without.get_legend() is None


def test_metric_by_value_is_reproducible_and_leaves_global_random_state_alone():
    state = np.random.get_state()[1].copy()
    first = points(metric_by_value_figure(RESULTS, "learning_rate").axes[0])
    second = points(metric_by_value_figure(RESULTS, "learning_rate").axes[0])
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize(
    "df, kwargs, match",
    [
        (RESULTS.iloc[:0], {}, "df is empty"),
        (RESULTS, {"param": "dense_units"}, r"lacks column\(s\) \['dense_units'\]"),
        (RESULTS.drop(columns="run_number"), {"top_runs": [1]}, "run_number"),
        (RESULTS.iloc[[3]], {}, "no run in df has a value of 'val_stroke_macro_f1'"),
    ],
)
def test_metric_by_value_rejects_empty_or_incomplete_tables(df, kwargs, match):
    kwargs = {"param": "lstm_layers", **kwargs}
    with pytest.raises(ValueError, match=match):
        metric_by_value_figure(df, **kwargs)


# --- interaction heatmap ----------------------------------------------------------------


def test_interaction_heatmap_annotates_means_in_sorted_order_and_leaves_gaps_blank():
    fig = interaction_heatmap(INTERACTION, "mean validation macro F1")
    assert len(fig.axes) == 2  # heatmap and its colour bar
    ax = fig.axes[0]
    assert tick_texts(ax.get_yticklabels()) == ["[64, 32]", "[128, 64]"]
    assert tick_texts(ax.get_xticklabels()) == ["0.0001", "0.0005", "0.001"]
    expected = [["0.846", "0.800", "0.812"], ["", "0.876", "0.840"]]
    for i, row in enumerate(expected):
        for j, text in enumerate(row):
            if text:
                assert cell_text(ax, i, j) == text
    assert not [t for t in ax.texts if np.allclose(t.get_position(), (0.5, 1.5))]
    assert len(ax.texts) == 5
    mesh = np.ma.masked_invalid(ax.collections[0].get_array()).reshape(2, 3)
    assert mesh.mask[1, 0] and mesh.mask.sum() == 1
    np.testing.assert_allclose(mesh[0], [0.8456, 0.8, 0.8123])
    assert ax.get_ylabel() == "lstm_layers" and ax.get_xlabel() == "learning_rate"
    assert ax.get_title() == "Mean validation macro F1 by lstm_layers and learning_rate"
    assert fig.axes[1].get_ylabel() == "mean validation macro F1"
    assert interaction_heatmap(INTERACTION, "F1", title="T").axes[0].get_title() == "T"


@pytest.mark.parametrize(
    "table, match",
    [
        (pd.DataFrame(), "table is empty"),
        (INTERACTION.iloc[:, :0], "table is empty"),
        (INTERACTION * np.nan, "all 6 cells are NaN"),
    ],
)
def test_interaction_heatmap_rejects_tables_without_values(table, match):
    with pytest.raises(ValueError, match=match):
        interaction_heatmap(table, "F1")


# --- parameter importance ---------------------------------------------------------------


def test_importance_bars_sorted_largest_first_with_values():
    fig = importance_figure(IMPORTANCE)
    (ax,) = fig.axes
    assert tick_texts(ax.get_yticklabels()) == [
        "lstm_layers",
        "learning_rate",
        "window_size",
        "dropout_rates",
    ]
    (bars,) = ax.containers
    np.testing.assert_allclose([bar.get_width() for bar in bars], [0.52, 0.31, 0.123, 0.0])
    # the first bar is drawn on top
    assert bars[0].get_y() < bars[1].get_y() and ax.yaxis_inverted()
    assert [t.get_text() for t in ax.texts] == ["0.52", "0.31", "0.12", "n/a"]
    assert ax.get_xlim() == (0.0, 1.1)
    assert ax.get_title() == "Parameter importance"
    assert importance_figure(IMPORTANCE, title="T").axes[0].get_title() == "T"
    assert texts_with_gid(ax, CAUTION_GID) == []


def test_importance_shows_caution_under_the_axes():
    caution = "Only 6 completed runs: importance is a rough ranking. " * 3
    fig = importance_figure(IMPORTANCE, caution=caution)
    ax = fig.axes[0]
    (note,) = [t for t in ax.texts if t.get_gid() == CAUTION_GID]
    assert " ".join(note.get_text().split()) == " ".join(caution.split())
    fig.draw_without_rendering()
    box = note.get_window_extent()
    assert box.y1 < ax.xaxis.label.get_window_extent().y0  # under the x label
    assert box.y0 >= 0 and box.x1 <= fig.bbox.width + 1  # inside the figure


@pytest.mark.parametrize(
    "importance, match",
    [
        (IMPORTANCE.iloc[:0], "importance is empty"),
        (IMPORTANCE.rename(columns={"importance": "score"}), r"\['importance'\]"),
    ],
)
def test_importance_rejects_empty_or_wrong_columns(importance, match):
    with pytest.raises(ValueError, match=match):
        importance_figure(importance)


# --- Pareto front -----------------------------------------------------------------------


def test_pareto_front_step_line_joins_front_points_in_x_order():
    fig = pareto_figure(RESULTS, ON_FRONT)
    (ax,) = fig.axes
    (line,) = [line for line in ax.get_lines() if line.get_gid() == PARETO_FRONT_GID]
    np.testing.assert_allclose(line.get_xdata(), [0.9, 1.5, 2.0, 3.0])
    np.testing.assert_allclose(line.get_ydata(), [0.82, 0.84, 0.88, 0.91])
    assert line.get_drawstyle() == "steps-post"
    assert texts_with_gid(ax, PARETO_FRONT_GID) == ["7", "3", "2", "5"]
    # every run with both values is drawn once (run 4 has none)
    expected = RESULTS[["training_time_minutes", SELECTION]].dropna().to_numpy()
    np.testing.assert_allclose(sorted_rows(points(ax)), sorted_rows(expected))
    assert ax.get_xlabel() == "training time (minutes)"
    assert ax.get_ylabel() == "validation macro F1 (strokes)"
    assert (
        ax.get_title()
        == "Pareto front: validation macro F1 (strokes) against training time (minutes)"
    )
    assert "Pareto front" in tick_texts(ax.get_legend().get_texts())


def test_pareto_aligns_series_by_index_and_accepts_a_list_and_other_columns():
    shuffled = ON_FRONT.sample(frac=1.0, random_state=3)
    ax = pareto_figure(RESULTS, shuffled).axes[0]
    assert texts_with_gid(ax, PARETO_FRONT_GID) == ["7", "3", "2", "5"]
    ax = pareto_figure(RESULTS, list(ON_FRONT)).axes[0]
    assert texts_with_gid(ax, PARETO_FRONT_GID) == ["7", "3", "2", "5"]
    fig = pareto_figure(
        RESULTS, [False, False, False, False, True, False, True], x="trainable_params", title="T"
    )
    (line,) = [line for line in fig.axes[0].get_lines() if line.get_gid() == PARETO_FRONT_GID]
    np.testing.assert_allclose(line.get_xdata(), [30_000, 150_000])
    assert fig.axes[0].get_title() == "T"


def test_pareto_without_front_draws_no_line():
    ax = pareto_figure(RESULTS, pd.Series(False, index=RESULTS.index)).axes[0]
    assert [line for line in ax.get_lines() if line.get_gid() == PARETO_FRONT_GID] == []
    assert len(points(ax)) == 6


@pytest.mark.parametrize(
    "df, on_front, match",
    [
        (RESULTS.iloc[:0], pd.Series([], dtype=bool), "df is empty"),
        (RESULTS, [True, False], "on_front has 2 flags for 7 rows"),
        (RESULTS.iloc[[3]], [True], "no run in df has values of both"),
    ],
)
def test_pareto_rejects_empty_or_misaligned_input(df, on_front, match):
    with pytest.raises(ValueError, match=match):
        pareto_figure(df, on_front)


def test_pareto_draws_error_bars_of_one_std_for_cross_validated_runs():
    ax = pareto_figure(WITH_STD, ON_FRONT).axes[0]
    segments = sorted(error_segments(ax), key=lambda seg: seg[0, 0])
    # runs 3 (1.5 min), 2 (2.0) and 5 (3.0): a vertical bar from mean - std to mean + std
    assert [seg[0, 0] for seg in segments] == [1.5, 2.0, 3.0]
    np.testing.assert_allclose([seg[:, 1] for seg in segments],
                               [[0.81, 0.87], [0.86, 0.90], [0.86, 0.96]])  # fmt: skip
    assert "± std over folds" in tick_texts(ax.get_legend().get_texts())
    assert error_segments(pareto_figure(RESULTS, ON_FRONT).axes[0]) == []


# --- trade-offs -------------------------------------------------------------------------


def test_tradeoff_panels_plot_metric_against_size_on_log_axis_and_inference_time():
    # sizes over more than a decade: a log axis
    wide = RESULTS.assign(trainable_params=[3_000, 120_000, 30_000, 120_000, 150_000, 120_000,
                                            30_000])  # fmt: skip
    fig = tradeoff_figure(wide)
    assert [ax.get_title() for ax in fig.axes] == ["Model size", "Inference time"]
    size, speed = fig.axes
    assert size.get_xscale() == "log" and speed.get_xscale() == "linear"
    assert size.get_shared_y_axes().joined(size, speed)
    completed = wide.dropna(subset=[SELECTION])
    for ax, column in ((size, "trainable_params"), (speed, "inference_ms_per_window")):
        expected = completed[[column, SELECTION]].to_numpy(dtype=float)
        np.testing.assert_allclose(sorted_rows(points(ax)), sorted_rows(expected))
    assert size.get_ylabel() == "validation macro F1 (strokes)"
    assert size.get_xlabel() == "trainable parameters (log scale)"
    assert fig.get_suptitle() == "Trade-offs of validation macro F1 (strokes)"
    assert tradeoff_figure(RESULTS, y="macro_f1_score", title="T").get_suptitle() == "T"


def test_model_sizes_within_one_decade_get_a_linear_axis_with_several_ticks():
    # The demo's two sizes (~60k and ~230k parameters) once shared one log tick, "100k".
    near = RESULTS.assign(trainable_params=[60_000 + 40_000 * i for i in range(len(RESULTS))])
    near = near.assign(trainable_params=near["trainable_params"].clip(upper=230_000))
    size = tradeoff_figure(near).axes[0]
    assert size.get_xscale() == "linear" and size.get_xlabel() == "trainable parameters"
    size.figure.canvas.draw()
    lo, hi = size.get_xlim()
    ticks = [t for t in size.get_xticks() if lo <= t <= hi]
    assert len(ticks) >= 3
    assert all(
        label.get_text().endswith("k") for label in size.get_xticklabels() if label.get_text()
    )


def test_tradeoff_highlights_runs_and_says_no_data_for_an_empty_panel():
    fig = tradeoff_figure(RESULTS, highlight=pd.Series([5.0, np.nan]))
    for ax, x in zip(fig.axes, (150_000, 1.5), strict=True):
        np.testing.assert_allclose(points(ax, HIGHLIGHT_GID), [[x, 0.91]])
        assert len(points(ax)) == 6
    df = RESULTS.assign(inference_ms_per_window=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        size, speed = tradeoff_figure(df).axes
    assert len(points(size)) == 6 and len(points(speed)) == 0
    assert [t.get_text() for t in speed.texts] == ["no data"]


@pytest.mark.parametrize(
    "df, match",
    [
        (RESULTS.iloc[:0], "df is empty"),
        (RESULTS.drop(columns="trainable_params"), "trainable_params"),
        (RESULTS.iloc[[3]], "no run in df has a value of 'val_stroke_macro_f1'"),
    ],
)
def test_tradeoff_rejects_empty_or_incomplete_tables(df, match):
    with pytest.raises(ValueError, match=match):
        tradeoff_figure(df)


# --- recall per class -------------------------------------------------------------------


def test_class_recall_heatmap_values_annotations_and_run_labels():
    classes = ["forehand", "backhand", "serve"]
    fig = class_recall_figure(BALANCE, classes)
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    mesh = np.ma.masked_invalid(ax.collections[0].get_array()).reshape(3, 3)
    expected = BALANCE[[f"{c}_recall" for c in classes]].to_numpy(dtype=float)
    np.testing.assert_allclose(mesh[:2], expected[:2])
    assert mesh.mask[2].all() and not mesh.mask[:2].any()
    assert ax.collections[0].norm.vmin == 0.0 and ax.collections[0].norm.vmax == 1.0
    assert [cell_text(ax, 0, j) for j in range(3)] == ["0.95", "0.85", "0.99"]
    assert len(ax.texts) == 6  # the failed run's row is blank
    assert tick_texts(ax.get_xticklabels()) == classes
    assert ax.get_title() == "Recall per class"
    assert class_recall_figure(BALANCE, classes, title="T").axes[0].get_title() == "T"


def test_class_recall_marks_unbalanced_runs():
    fig = class_recall_figure(BALANCE, ["forehand", "serve"])
    fig.draw_without_rendering()
    labels = fig.axes[0].get_yticklabels()
    assert tick_texts(labels) == ["run 5", "run 2 (unbalanced)", "run 4"]
    colours = [matplotlib.colors.to_hex(label.get_color()) for label in labels]
    flagged = matplotlib.colors.to_hex(plots.FLAG_COLOR)
    assert colours[1] == flagged and flagged not in (colours[0], colours[2])
    unflagged = class_recall_figure(BALANCE.drop(columns="unbalanced"), ["serve"]).axes[0]
    assert tick_texts(unflagged.get_yticklabels()) == ["run 5", "run 2", "run 4"]


@pytest.mark.parametrize(
    "balance, classes, match",
    [
        (BALANCE.iloc[:0], ["serve"], "balance is empty"),
        (BALANCE, ["serve", "slice"], "slice_recall"),
        (BALANCE, [], "classes is empty"),
    ],
)
def test_class_recall_rejects_empty_or_missing_classes(balance, classes, match):
    with pytest.raises(ValueError, match=match):
        class_recall_figure(balance, classes)


# --- overfitting ------------------------------------------------------------------------


def test_overfitting_bars_equal_train_validation_and_test_f1_per_run():
    fig = overfitting_figure(OVERFITTING)
    (ax,) = fig.axes
    np.testing.assert_allclose(
        bar_heights(ax), [[0.99, 0.97, 0.86], [0.91, 0.88, 0.82], [0.87, 0.0, 0.81]]
    )
    assert [t.get_text() for t in ax.texts][-3:] == ["0.87", "n/a", "0.81"]
    assert tick_texts(ax.get_legend().get_texts()) == [
        "train",
        "validation",
        "test",
        "flagged: overfitting",
    ]
    assert ax.get_ylim() == (0.0, 1.1)
    assert ax.get_title() == "Train, validation and test macro F1 (windows)"
    assert overfitting_figure(OVERFITTING, title="T").axes[0].get_title() == "T"


def test_overfitting_marks_flagged_runs():
    fig = overfitting_figure(OVERFITTING)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    labels = ax.get_xticklabels()
    assert tick_texts(labels) == ["run 5\n(overfitting)", "run 2", "run 7"]
    assert matplotlib.colors.to_hex(labels[0].get_color()) == matplotlib.colors.to_hex(
        plots.FLAG_COLOR
    )
    (band,) = [p for p in ax.patches if p.get_gid() == FLAGGED_GID]
    x0, x1 = band.get_path().get_extents(band.get_patch_transform()).intervalx
    assert x0 < 0 < x1 < 0.5
    quiet = overfitting_figure(OVERFITTING.assign(overfitting=False)).axes[0]
    assert [p for p in quiet.patches if p.get_gid() == FLAGGED_GID] == []
    assert tick_texts(quiet.get_xticklabels()) == ["run 5", "run 2", "run 7"]


@pytest.mark.parametrize(
    "table, match",
    [
        (OVERFITTING.iloc[:0], "table is empty"),
        (OVERFITTING.drop(columns="train_macro_f1_score"), "train_macro_f1_score"),
    ],
)
def test_overfitting_rejects_empty_or_incomplete_tables(table, match):
    with pytest.raises(ValueError, match=match):
        overfitting_figure(table)


def test_overfitting_has_error_bars_where_a_score_has_a_std():
    table = OVERFITTING.assign(val_macro_f1_score_std=[0.02, np.nan, 0.01])
    ax = overfitting_figure(table).axes[0]
    # Only validation has a std, for runs 5 and 7 (not run 2): the middle bars, at x 0 and 2.
    segments = error_segments(ax)
    np.testing.assert_allclose([seg[:, 0] for seg in segments], [[0.0, 0.0], [2.0, 2.0]])
    np.testing.assert_allclose([seg[:, 1] for seg in segments], [[0.89, 0.93], [0.81, 0.83]])
    assert error_segments(overfitting_figure(OVERFITTING).axes[0]) == []


# --- ranking ----------------------------------------------------------------------------


def test_ranking_draws_each_run_with_its_std_best_at_the_top_and_marks_ties():
    fig = ranking_figure(BOARD, tied=[2, 3, 99])
    (ax,) = fig.axes
    assert tick_texts(ax.get_yticklabels()) == ["run 5", "run 2 (tied)", "run 6", "run 3 (tied)"]
    assert ax.yaxis_inverted()
    drawn = np.array([[0.91, 0], [0.88, 1], [0.86, 2], [0.84, 3]])
    np.testing.assert_allclose(sorted_rows(points(ax)), sorted_rows(drawn))
    np.testing.assert_allclose(sorted_rows(points(ax, TIED_GID)), [[0.84, 3], [0.88, 1]])
    segments = sorted(error_segments(ax), key=lambda seg: seg[0, 1])
    # run 6 has no std: no bar (not one of length 0)
    np.testing.assert_allclose([seg[:, 0] for seg in segments],
                               [[0.86, 0.96], [0.86, 0.90], [0.81, 0.87]])  # fmt: skip
    fig.draw_without_rendering()
    colours = [matplotlib.colors.to_hex(t.get_color()) for t in ax.get_yticklabels()]
    flagged = matplotlib.colors.to_hex(plots.FLAG_COLOR)
    assert [c == flagged for c in colours] == [False, True, False, True]
    assert ax.get_xlabel() == "validation macro F1 (strokes) (± std over folds)"
    assert ax.get_title() == "Ranking by validation macro F1 (strokes)"
    assert "tied with the best" in tick_texts(ax.get_legend().get_texts())


def test_ranking_without_spreads_draws_no_error_bars_and_leaves_out_missing_scores():
    board = BOARD.drop(columns="val_stroke_macro_f1_std")
    board.loc[2, SELECTION] = np.nan
    ax = ranking_figure(board, title="T").axes[0]
    assert error_segments(ax) == [] and points(ax, TIED_GID).size == 0
    assert tick_texts(ax.get_yticklabels()) == ["run 5", "run 2", "run 3"]
    assert ax.get_title() == "T" and ax.get_xlabel() == "validation macro F1 (strokes)"


@pytest.mark.parametrize(
    "board, match",
    [
        (BOARD.iloc[:0], "board is empty"),
        (BOARD.drop(columns=SELECTION), "val_stroke_macro_f1"),
        (BOARD.assign(**{SELECTION: np.nan}), "no run in board has a value"),
    ],
)
def test_ranking_rejects_empty_or_incomplete_boards(board, match):
    with pytest.raises(ValueError, match=match):
        ranking_figure(board)


# --- all results-table figures ----------------------------------------------------------

ONE_RUN = RESULTS.iloc[[1]]
RESULTS_FIGURES = {
    "metric_by_value": lambda df: metric_by_value_figure(df, "lstm_layers", top_runs=[2]),
    "interaction": lambda df: interaction_heatmap(
        df.pivot_table(index="lstm_layers", columns="learning_rate", values=SELECTION).reindex(
            columns=[0.0001, 0.0005, 0.001]
        ),  # a column of NaN
        "mean validation macro F1",
    ),
    "importance": lambda df: importance_figure(
        IMPORTANCE.iloc[: len(df)], caution="Few runs: a rough ranking."
    ),
    "pareto": lambda df: pareto_figure(df, df["run_number"].isin([2, 3, 5, 7])),
    "tradeoff": lambda df: tradeoff_figure(df, highlight=[2]),
    "class_recall": lambda df: class_recall_figure(
        df.assign(serve_recall=0.9, slice_recall=np.nan, unbalanced=True), ["serve", "slice"]
    ),
    "overfitting": lambda df: overfitting_figure(df.assign(overfitting=True)),
    "ranking": lambda df: ranking_figure(df, tied=[2]),
}
DATASETS = {"runs": RESULTS, "one_run": ONE_RUN, "with_std": WITH_STD}


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize("name", sorted(RESULTS_FIGURES))
def test_results_figure_saves_to_png_without_warnings(name, data, tmp_path: Path):
    path = tmp_path / f"{name}.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = RESULTS_FIGURES[name](DATASETS[data])
        fig.savefig(path, dpi=50)
    assert isinstance(fig, Figure)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 1000


@pytest.mark.parametrize("name", sorted(RESULTS_FIGURES))
def test_results_figure_leaves_global_style_and_pyplot_alone(name):
    before = dict(matplotlib.rcParams)
    RESULTS_FIGURES[name](RESULTS)
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()
    assert plt.get_fignums() == []


# --- finalists --------------------------------------------------------------------------

# As analysis.finalists_table gives it: trials 4 and 9 tied with the best (trial 4, the
# best, is tied with itself), trial 2 worse; trial 7 had one scored repeat (no interval).
FINALISTS = pd.DataFrame(
    {
        "trial": pd.array([4, 9, 2, 7], dtype="Int64"),
        "config_id": ["c4", "c9", "c2", "c7"],
        "mean": [0.90, 0.88, 0.80, 0.78],
        "ci_low": [0.86, 0.83, 0.78, np.nan],
        "ci_high": [0.95, 0.92, 0.83, np.nan],
        "repeats": [5, 5, 4, 1],
        "tied": [True, True, False, False],
        "best_run": pd.array([21, 27, 30, 33], dtype="Int64"),
    },
    index=pd.RangeIndex(1, 5, name="finalist"),
)


def interval_segments(ax) -> list[np.ndarray]:
    return [
        np.asarray(seg)
        for c in ax.collections
        if c.get_gid() == plots.INTERVAL_GID
        for seg in c.get_segments()
    ]


def test_finalists_draw_each_mean_with_its_interval_and_colour_the_tied():
    fig = finalists_figure(FINALISTS)
    (ax,) = fig.axes
    assert tick_texts(ax.get_yticklabels()) == [
        "trial 4 (5 seeds)", "trial 9 (5 seeds)", "trial 2 (4 seeds)", "trial 7 (1 seed)",
    ]  # fmt: skip
    assert ax.yaxis_inverted()  # the best at the top
    np.testing.assert_allclose(sorted_rows(points(ax, TIED_GID)), [[0.88, 1], [0.90, 0]])
    np.testing.assert_allclose(sorted_rows(points(ax, plots.BEHIND_GID)), [[0.78, 3], [0.80, 2]])
    tied = [c for c in ax.collections if c.get_gid() == TIED_GID][0]
    assert {matplotlib.colors.to_hex(c) for c in tied.get_facecolors()} == {
        matplotlib.colors.to_hex(plots.FLAG_COLOR)
    }
    behind = [c for c in ax.collections if c.get_gid() == plots.BEHIND_GID][0]
    assert matplotlib.colors.to_hex(behind.get_facecolors()[0]) != matplotlib.colors.to_hex(
        plots.FLAG_COLOR
    )
    # From ci_low to ci_high at each finalist's row; trial 7 (one repeat) has none.
    segments = sorted(interval_segments(ax), key=lambda seg: seg[0, 1])
    np.testing.assert_allclose([seg[:, 0] for seg in segments],
                               [[0.86, 0.95], [0.83, 0.92], [0.78, 0.83]])  # fmt: skip
    np.testing.assert_allclose([seg[0, 1] for seg in segments], [0, 1, 2])
    fig.draw_without_rendering()
    colours = [matplotlib.colors.to_hex(t.get_color()) for t in ax.get_yticklabels()]
    flagged = matplotlib.colors.to_hex(plots.FLAG_COLOR)
    assert [c == flagged for c in colours] == [True, True, False, False]
    legend = tick_texts(ax.get_legend().get_texts())
    assert "the best and those tied with it (one-sided Welch's t-test, 5 % level)" in legend
    assert "worse than the best" in legend and "the best's 95 % interval" in legend
    assert ax.get_xlabel() == (
        "validation macro F1 (strokes): mean over seeds with its 95 % interval"
    )
    assert ax.get_title() == "Finalists over seeds: mean and 95 % interval"


def test_finalists_name_rows_without_a_trial_and_say_the_levels_they_are_given():
    table = FINALISTS.assign(trial=pd.array([pd.NA, 9, pd.NA, 7], dtype="Int64"),
                             tied=[True, False, False, np.nan])  # fmt: skip
    table = table.drop(columns="repeats")
    ax = finalists_figure(table, level=0.01, interval=0.9, title="T").axes[0]
    assert tick_texts(ax.get_yticklabels()) == ["config c4", "trial 9", "config c2", "trial 7"]
    assert points(ax, TIED_GID).tolist() == [[0.90, 0.0]]
    legend = tick_texts(ax.get_legend().get_texts())
    assert "the best and those tied with it (one-sided Welch's t-test, 1 % level)" in legend
    assert ax.get_title() == "T" and "90 % interval" in ax.get_xlabel()
    # Only the best, tied with itself: no "tied" entry beyond it; the others are worse.
    alone = finalists_figure(FINALISTS.assign(tied=[True, False, False, False])).axes[0]
    assert points(alone, TIED_GID).tolist() == [[0.90, 0.0]]
    assert len(points(alone, plots.BEHIND_GID)) == 3


@pytest.mark.parametrize(
    "table, match",
    [
        (FINALISTS.iloc[:0], "table is empty"),
        (FINALISTS.drop(columns="ci_low"), "ci_low"),
        (FINALISTS.assign(mean=np.nan), "no finalist in table has a mean"),
    ],
)
def test_finalists_reject_empty_or_incomplete_tables(table, match):
    with pytest.raises(ValueError, match=match):
        finalists_figure(table)


def test_finalists_figure_saves_without_warnings_and_leaves_global_state_alone(tmp_path):
    before = dict(matplotlib.rcParams)
    path = tmp_path / "finalists.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        finalists_figure(FINALISTS).savefig(path, dpi=50)
        finalists_figure(FINALISTS.iloc[[0]]).savefig(tmp_path / "one.png", dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()
    assert plt.get_fignums() == []


def test_render_png_draws_a_figure_once_as_jupyter_shows_it():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import print_figure

    fig = confusion_matrix_figure(np.array([[8, 2], [1, 9]]), ["forehand", "serve"])
    rendered = plots.render_png(fig)
    assert rendered.png.startswith(b"\x89PNG\r\n\x1a\n")
    # what Jupyter's inline backend would have shown for the figure itself
    shown = print_figure(fig, "png")
    assert rendered.size == (int.from_bytes(shown[16:20]), int.from_bytes(shown[20:24]))
    assert rendered.size[0] > 100 and rendered.size[1] > 100
    # display() shows it as an image (its bytes, not the figure drawn again), briefly named
    data, _ = InteractiveShell.instance().display_formatter.format(rendered)
    assert data["image/png"] == rendered.png
    assert data["text/plain"] == f"<figure: {rendered.size[0]}x{rendered.size[1]} PNG>"
