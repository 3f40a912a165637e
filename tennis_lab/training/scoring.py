"""Score a fitted model on its split: windows, every annotated stroke, per group.

:func:`evaluate_split` turns a :class:`~tennis_lab.training.fitting.FittedSplit` into
a :class:`RunResult`: window-level and stroke-level metrics, the costs, the test
strokes per group, detected strokes on whole videos (runs that keep idle windows),
and the warnings a reader must not miss.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tennis_lab import evaluation
from tennis_lab.evaluation import Split
from tennis_lab.results import SELECTION_METRIC
from tennis_lab.training.fitting import FittedSplit, _training_windows
from tennis_lab.windows import IDLE, WindowSet, cut_windows

# Metrics whose spread over cross-validation folds is logged as <name>_std.
# (Not the worst group's: it is the lowest over every fold's groups, not a mean; the
# range of the held-out groups is new_group_macro_f1_min/_max.)
SPREAD_METRICS = (
    SELECTION_METRIC, "test_stroke_macro_f1", "val_macro_f1_score", "macro_avg_f1_score",
    "test_accuracy",
)  # fmt: skip


# Event matching of runs that keep idle windows: detections this close count as found.
EVENT_TOLERANCE_SECONDS = 0.25


@dataclass
class RunResult:
    """Everything one training run produced.

    Attributes
    ----------
    metrics : dict of str to float
        Flat metric names as logged to MLflow. Stroke level (every annotated stroke
        of the part, see :mod:`tennis_lab.evaluation`): ``val_stroke_macro_f1``
        (the selection metric), ``test_stroke_macro_f1``, ``val_stroke_accuracy``,
        ``test_stroke_accuracy``, ``worst_group_macro_f1`` (the test group, e.g.
        player, scored worst), ``val_strokes``, ``test_strokes``,
        ``test_strokes_unreached`` (strokes of videos shorter than a window).
        Window level: ``val_macro_f1_score``, ``train_macro_f1_score``,
        ``test_accuracy``, ``test_loss``, ``macro_avg_*`` and ``weighted_avg_*``,
        ``<class>_precision/_recall/_f1_score/_support`` on the test windows. Costs:
        ``epochs_trained`` (every epoch the model has had, those of the checkpoint it
        continued included), ``epochs_trained_this_run``, ``training_time_seconds``
        and ``_minutes`` (this run's), ``first_epoch_seconds`` (with the backend's
        compilation) and ``epoch_seconds`` (the median of the others), ``trainable_params``,
        ``inference_ms_per_window``, ``val_groups`` (groups in the validation split).
        Cross-validated runs add ``cv_folds`` (the number of folds), ``<metric>_std`` for
        :data:`SPREAD_METRICS` and the score to expect on a new group
        (:func:`tennis_lab.evaluation.new_group_estimate`: ``new_group_macro_f1``,
        its ``_min`` and ``_max`` over the held-out groups, ``new_groups``).
    history : dict of str to list of float
        Per-epoch loss, accuracy, val_loss, val_accuracy, learning_rate of the epochs
        this run trained (a continued run: only the new ones).
    confusion : ndarray (classes, classes)
        Test split; rows are true classes, columns predictions.
    classes : tuple of str
    report : str
        The test split's per-class report as text.
    data : dict
        Facts of the data: samples per split, class counts, input shape.
    model : keras.Model
        The trained model (best validation weights; with folds, the fold that
        scored best on validation).
    groups : list of dict
        Test strokes per group (player, session or video): ``group``, ``strokes``,
        ``macro_f1``, ``accuracy``, ``handedness``, ``videos`` (and ``fold``),
        worst first.
    folds : list of dict
        With cross-validation, the headline metrics of each fold.
    test_true, test_pred : ndarray
        Test windows' classes and predictions (pooled over folds).
    preprocessing : dict
        What turns a raw recording into the model's input
        (:meth:`tennis_lab.windows.WindowSet.preprocessing`); the model
        standardises its input itself, so the two make a self-contained predictor.
    first_epoch : int
        The 0-based number of the first epoch in ``history``: 0, or the
        ``initial_epoch`` a continued run started from (``history[k][i]`` is epoch
        ``first_epoch + i``).
    val_strokes : dict of str to list
        Every validation stroke's ``video``, ``start``, ``fold`` (None without folds),
        ``true`` class and ``pred`` (-1: not reached): a search compares runs on
        these same strokes (:func:`tennis_lab.evaluation.paired_bootstrap`).
    warnings : list of str
        What must not be missed in these scores
        (:func:`tennis_lab.evaluation.split_warnings`): weak groups, a
        validation-test gap, a thin validation split, a class missing from a split.
    """

    metrics: dict[str, float]
    history: dict[str, list[float]]
    confusion: np.ndarray
    classes: tuple[str, ...]
    report: str
    data: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    groups: list[dict[str, Any]] = field(default_factory=list)
    folds: list[dict[str, Any]] = field(default_factory=list)
    test_true: np.ndarray | None = None
    test_pred: np.ndarray | None = None
    preprocessing: dict[str, Any] = field(default_factory=dict)
    first_epoch: int = 0
    val_strokes: dict[str, list] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# Windows per prediction batch. Every batch has this size (the last one padded), so
# the backend compiles its prediction step once for a whole evaluation: JAX compiles
# one per input shape, TensorFlow traces one.
PREDICT_BATCH = 256


def predict_probabilities(model, X: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """Class probabilities of the windows ``X`` (n, frames, features): (n, classes).

    The windows go through ``model`` in batches of ``batch_size``; the last partial
    batch is padded with zeros and the padding's outputs dropped.
    """
    n = len(X)
    classes = int(model.outputs[0].shape[-1])
    if n == 0:
        return np.zeros((0, classes), dtype=np.float32)
    full = n - n % batch_size
    parts = []
    if full:
        parts.append(np.asarray(model.predict(X[:full], batch_size=batch_size, verbose=0)))
    if n > full:
        tail = np.zeros((batch_size, *X.shape[1:]), dtype=X.dtype)
        tail[: n - full] = X[full:]
        parts.append(np.asarray(model.predict(tail, batch_size=batch_size, verbose=0))[: n - full])
    return np.concatenate(parts)


def crossentropy(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean sparse categorical cross-entropy of class probabilities, as Keras computes it.

    Keras rescales each row to sum to 1 and clips probabilities to [1e-7, 1 - 1e-7].
    """
    if len(y) == 0:
        return float("nan")
    eps = 1e-7
    p = np.asarray(probs, dtype=np.float64)
    p = np.clip(p / p.sum(axis=1, keepdims=True), eps, 1 - eps)
    return float(-np.mean(np.log(p[np.arange(len(y)), np.asarray(y, dtype=int)])))


def _report_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Averages over the classes present in ``y_true`` (the macro-F1 rule); every class."""
    from sklearn.metrics import precision_recall_fscore_support

    labels = np.arange(len(classes))
    present = np.unique(y_true)
    out: dict[str, float] = {}
    for avg in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=present, average=avg, zero_division=0
        )
        out[f"{avg}_avg_precision"], out[f"{avg}_avg_recall"], out[f"{avg}_avg_f1_score"] = p, r, f
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    for i, name in enumerate(classes):
        out[f"{name}_precision"] = float(p[i])
        out[f"{name}_recall"] = float(r[i])
        out[f"{name}_f1_score"] = float(f[i])
        out[f"{name}_support"] = int(s[i])
    return {k: float(v) for k, v in out.items()}


def evaluate_split(windows: WindowSet, split: Split, fitted: FittedSplit) -> RunResult:
    """Score a model :func:`fit_split` trained on ``split``: windows and strokes, per group.

    Returns
    -------
    RunResult
        Window-level and stroke-level metrics (see :class:`RunResult`), with the
        test strokes scored per group.
    """
    from sklearn.metrics import confusion_matrix

    model = fitted.model
    X_train, y_train = _training_windows(windows, split, fitted.augment_mirror)
    X_val, X_test = windows.windows(split.val), windows.windows(split.test)
    y_val, y_test = windows.y[split.val], windows.y[split.test]

    predict = lambda X: predict_probabilities(model, X)  # noqa: E731
    p_train, p_val = predict(X_train).argmax(axis=1), predict(X_val).argmax(axis=1)
    started = time.perf_counter()
    probs_test = predict(X_test)
    inference_ms = (time.perf_counter() - started) * 1000 / max(len(X_test), 1)
    p_test = probs_test.argmax(axis=1)

    sv_true, sv_pred, val_mask, _ = _score_strokes(windows, predict, split.val_videos)
    st_true, st_pred, test_mask, test_windows = _score_strokes(windows, predict, split.test_videos)
    st_video = windows.strokes["video"][test_mask]
    group_of = evaluation.video_groups(windows.video_ids, windows.videos, split.by)
    groups = evaluation.group_scores(
        st_true, st_pred, np.array([group_of[v] for v in st_video], dtype=object),
        extra=_group_facts(windows, group_of, split.fold),
    )  # fmt: skip

    has_idle = IDLE in windows.classes  # whole videos can be read: score detected strokes
    metrics = {
        SELECTION_METRIC: evaluation.macro_f1(sv_true, sv_pred),
        "test_stroke_macro_f1": evaluation.macro_f1(st_true, st_pred),
        "val_stroke_accuracy": evaluation.accuracy(sv_true, sv_pred),
        "test_stroke_accuracy": evaluation.accuracy(st_true, st_pred),
        "worst_group_macro_f1": min((g["macro_f1"] for g in groups), default=float("nan")),
        "val_strokes": float(len(sv_true)),
        "test_strokes": float(len(st_true)),
        "test_strokes_unreached": float((st_pred < 0).sum()),
        "val_macro_f1_score": evaluation.macro_f1(y_val, p_val),
        "train_macro_f1_score": evaluation.macro_f1(y_train, p_train),
        "test_accuracy": float(np.mean(p_test == y_test)),
        "test_loss": float(crossentropy(probs_test, y_test)),
        **_report_metrics(y_test, p_test, windows.classes),
        **_cost_metrics(fitted, inference_ms),
        "val_groups": float(len(split.val_groups)),
        **(event_metrics(windows, split.test_videos, *test_windows) if has_idle else {}),
    }
    missing = {
        part: [c for i, c in enumerate(windows.classes) if c != IDLE and i not in set(truth)]
        for part, truth in (("validation", sv_true.tolist()), ("test", st_true.tolist()))
    }
    warnings = evaluation.split_warnings(
        split.by, metrics[SELECTION_METRIC], metrics["test_stroke_macro_f1"], groups,
        split.val_groups, missing, split.fold,
        margin=None if split.fold is not None else evaluation.WEAK_GROUP_MARGIN,
    )  # fmt: skip
    return RunResult(
        metrics=metrics,
        history=fitted.history,
        confusion=confusion_matrix(y_test, p_test, labels=np.arange(len(windows.classes))),
        classes=windows.classes,
        report=window_report(y_test, p_test, windows.classes),
        data=_split_facts(windows, split, fitted, X_train.shape[1:], len(y_train)),
        model=model,
        groups=groups,
        test_true=np.asarray(y_test),
        test_pred=np.asarray(p_test),
        preprocessing=windows.preprocessing(),
        first_epoch=fitted.initial_epoch,
        val_strokes={
            "video": [str(v) for v in windows.strokes["video"][val_mask]],
            "start": [int(v) for v in windows.strokes["start"][val_mask]],
            "fold": [split.fold] * len(sv_true),
            "true": [int(v) for v in sv_true],
            "pred": [int(v) for v in sv_pred],
        },
        warnings=warnings,
    )


def _score_strokes(windows: WindowSet, predict: Callable, videos: tuple[str, ...]) -> tuple:
    """True classes and predictions of every annotated stroke of ``videos``, which strokes
    those are (a mask over ``windows.strokes``); the probabilities, videos and starts of
    the windows that scored them."""
    offsets, starts, owner = windows.scoring_windows(videos)
    X = cut_windows(windows.frames, offsets, windows.window_size)
    probs = predict(X)
    strokes = windows.strokes
    mask = np.isin(strokes["video"], list(videos))
    agg = evaluation.aggregate_strokes(
        probs, owner, starts, windows.window_size,
        strokes["video"][mask], strokes["start"][mask], strokes["end"][mask],
    )  # fmt: skip
    windows_used = (probs, owner, starts)
    return strokes["y"][mask], evaluation.predict_strokes(agg), mask, windows_used


def _cost_metrics(fitted: FittedSplit, inference_ms: float) -> dict[str, float]:
    """Epochs, training and inference time, and the model's size."""
    epochs_this_run = len(fitted.history.get("loss", []))
    epoch_times, seconds = fitted.epoch_times, fitted.training_seconds
    weights = fitted.model.trainable_weights
    return {
        "epochs_trained": float(fitted.initial_epoch + epochs_this_run),
        "epochs_trained_this_run": float(epochs_this_run),
        "training_time_seconds": seconds,
        "training_time_minutes": seconds / 60,
        # The first epoch compiles the training step; the others show the backend's pace.
        "first_epoch_seconds": epoch_times[0] if epoch_times else float("nan"),
        "epoch_seconds": float(np.median(epoch_times[1:] or epoch_times or [float("nan")])),
        "trainable_params": float(sum(int(np.prod(w.shape)) for w in weights)),
        "inference_ms_per_window": inference_ms,
    }


def _split_facts(
    windows: WindowSet, split: Split, fitted: FittedSplit, input_shape: tuple, train_samples: int
) -> dict[str, Any]:
    """The facts of a run's data: samples, classes and groups per part, mirroring."""
    checkpoint = fitted.checkpoint
    return {
        "num_classes": len(windows.classes),
        "classes": list(windows.classes),
        "train_samples": train_samples,
        "val_samples": len(split.val),
        "test_samples": len(split.test),
        "input_shape": list(input_shape),
        "train_class_counts": windows.class_counts(split.train),
        "val_class_counts": windows.class_counts(split.val),
        "test_class_counts": windows.class_counts(split.test),
        "split_by": split.by,
        "train_groups": list(split.train_groups),
        "val_groups": list(split.val_groups),
        "test_groups": list(split.test_groups),
        "train_videos": list(split.train_videos),
        "val_videos": list(split.val_videos),
        "test_videos": list(split.test_videos),
        "mirrored_videos": sorted(v for v, m in windows.videos.items() if m.get("mirrored")),
        "augment_mirror": bool(fitted.augment_mirror),
        "initial_epoch": fitted.initial_epoch,
        "checkpoint_path": str(checkpoint) if checkpoint is not None else "",
    }


def verdict_notes(result: RunResult) -> list[str]:
    """What a run's reader must not miss, one line each: the score to expect on a new
    group (grouped cross-validation) and the run's warnings (weak groups, gaps, ...)."""
    word = result.data.get("split_by") or "group"
    new_group = evaluation.new_group_text(result.metrics, word)
    lines = [new_group[0].upper() + new_group[1:]] if new_group else []
    return lines + [f"⚠️ {line}" for line in result.warnings]


def window_report(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> str:
    """The test windows' per-class report (scikit-learn's text), by the macro-F1 rule.

    Only the classes present in ``y_true`` are listed and averaged, as
    :func:`tennis_lab.evaluation.macro_f1` counts them, so its macro average is the
    run's ``macro_avg_f1_score``; a last line names the classes left out.
    """
    from sklearn.metrics import classification_report

    present = [int(c) for c in np.unique(y_true)]
    if not present:
        return "no test windows"
    report = classification_report(
        y_true, y_pred, labels=present, target_names=[classes[i] for i in present],
        zero_division=0,
    )  # fmt: skip
    absent = [c for i, c in enumerate(classes) if i not in present]
    if absent:
        report += (
            f"\nNot in the test windows, so not averaged (the macro-F1 rule): {', '.join(absent)}\n"
        )
    return report


def event_metrics(
    windows: WindowSet,
    videos: Sequence[str],
    probs: np.ndarray,
    owner: np.ndarray,
    starts: np.ndarray,
    tolerance_seconds: float = EVENT_TOLERANCE_SECONDS,
) -> dict[str, float]:
    """Strokes detected on whole videos, matched to the annotated ones.

    For a run that keeps idle windows: each video's frames get the mean class
    probabilities of the windows over them, strokes are runs of one stroke class
    (:func:`tennis_lab.evaluation.detect_strokes`, the defaults of
    :mod:`tennis_lab.predict`), matched to the annotations within
    ``tolerance_seconds`` (:func:`tennis_lab.evaluation.match_events`).

    Returns
    -------
    dict
        ``test_event_precision``, ``test_event_recall``, ``test_event_f1`` (over all
        strokes) and ``test_event_macro_f1`` (mean over the annotated classes).
    """
    w = windows.window_size
    stride = int(windows.params.get("stride", w))
    fps = float(windows.params.get("reference_fps", 30.0))
    tolerance = int(round(tolerance_seconds * fps))
    index = {v: i for i, v in enumerate(windows.video_ids)}
    recordings = []
    for video in videos:
        mine = owner == video
        if not mine.any():
            continue
        length = int(windows.video_lengths[index[video]])
        frame_probs = evaluation.frame_probabilities(probs[mine], starts[mine], w, length)
        found = evaluation.detect_strokes(
            frame_probs, windows.classes, idle=IDLE,
            min_frames=evaluation.default_min_frames(w, stride),
        )  # fmt: skip
        ours = windows.strokes["video"] == video
        truth = {k: windows.strokes[k][ours] for k in ("start", "end")}
        truth["label"] = windows.strokes["y"][ours]
        recordings.append((found, truth))
    if not recordings:
        return {}
    scores = evaluation.score_detections(recordings, windows.classes, tolerance, idle=IDLE)
    return {
        "test_event_precision": float(scores["overall"]["precision"]),
        "test_event_recall": float(scores["overall"]["recall"]),
        "test_event_f1": float(scores["overall"]["f1"]),
        "test_event_macro_f1": float(scores["macro_f1"]),
    }


def _group_facts(
    windows: WindowSet, group_of: Mapping[str, str], fold: int | None
) -> dict[str, dict[str, Any]]:
    """Group -> its videos, handedness (left, right, mixed or unknown) and fold."""
    facts: dict[str, dict[str, Any]] = {}
    for video, group in sorted(group_of.items()):
        entry = facts.setdefault(group, {"videos": [], "_hands": set()})
        entry["videos"].append(video)
        entry["_hands"].add((windows.videos.get(video) or {}).get("handedness") or "unknown")
    for entry in facts.values():
        hands = entry.pop("_hands")
        entry["handedness"] = hands.pop() if len(hands) == 1 else "mixed"
        entry["videos"] = " ".join(entry["videos"])
        if fold is not None:
            entry["fold"] = fold
    return facts
