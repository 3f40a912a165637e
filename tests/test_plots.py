"""Tests of tennis_lab.plots: each figure's axes, titles, labels and drawn values."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tennis_lab import plots  # noqa: E402
from tennis_lab.plots import (  # noqa: E402
    BEST_EPOCH_GID,
    class_counts_figure,
    confusion_matrix_figure,
    learning_curves_figure,
    per_class_figure,
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


# --- all figures ------------------------------------------------------------------------

FIGURES = {
    "confusion": lambda: confusion_matrix_figure(
        np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]]), CLASSES
    ),
    "curves": lambda: learning_curves_figure(HISTORY),
    "counts": lambda: class_counts_figure(COUNTS),
    "per_class": lambda: per_class_figure(METRICS, CLASSES),
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


def test_plots_imports_no_other_tennis_lab_module():
    tree = ast.parse(Path(plots.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {name for name in imported if name and name.startswith("tennis_lab")}
