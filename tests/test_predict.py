"""predict: a logged model with its preprocessing, timelines, event scores, the registry.

One small model is trained on the six-video demo (idle windows kept, so it can say
"no stroke"), logged to a real SQLite MLflow store and registered as the champion; a
second one without the idle class shows what predict says about such models. Tests
without that store (what the outputs say, argument checks) are fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_MODEL

from tennis_lab import evaluation, plots
from tennis_lab.cli import build_parser
from tennis_lab.datacache import load_windows
from tennis_lab.evaluation import make_splits
from tennis_lab.poses import Recording, read_recording, write_recording
from tennis_lab.predict import (
    ASSUMED_RIGHT,
    CONFIDENCE_MEANING,
    DEFAULT_MODEL,
    NO_IDLE_SHORT,
    TIMELINE_COLUMNS,
    PredictError,
    StrokeModel,
    about_path,
    add_evaluate_arguments,
    evaluate_command,
    event_evaluation,
    handedness_label,
    handedness_warning,
    load_model,
    no_idle_note,
    predict_command,
    predict_recording,
    resolve_model_uri,
    split_videos,
    timeline_about,
)
from tennis_lab.tracking import (
    CHAMPION_ALIAS,
    DEFAULT_MODEL_NAME,
    TrackingError,
    log_training_run,
    model_version_by_alias,
    register_model,
)
from tennis_lab.training import cross_validate
from tennis_lab.windows import resampled_length

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
slow = pytest.mark.slow  # every test with the `store` fixture trains

DATA = {"window_size": 30, "overlap": 15, "include_idle": True}
TRAIN = {**TINY_MODEL, "lstm_layers": [16], "epochs": 6}


def train(data_dir, **data):
    windows, _ = load_windows(data_dir, **{**DATA, **data})
    splits = make_splits(windows, seed=7)
    return windows, splits[0], cross_validate(windows, splits, {**DATA, **data, **TRAIN}, seed=7)


@pytest.fixture(scope="module")
def store(tiny_demo, tmp_path_factory):
    """A store with two logged runs; the first (with idle) registered as the champion."""
    root = tmp_path_factory.mktemp("predict")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    windows, split, result = train(tiny_demo)
    run_id = log_training_run(result, {**DATA, **TRAIN}, tracking_uri=uri, experiment="p")
    register_model(run_id, tags={"search_id": "s1"}, tracking_uri=uri)
    _, _, no_idle = train(tiny_demo, include_idle=False)
    no_idle_id = log_training_run(no_idle, DATA, tracking_uri=uri, experiment="p")
    return {
        "uri": uri, "root": root, "windows": windows, "split": split, "result": result,
        "run_id": run_id, "no_idle_id": no_idle_id, "data": tiny_demo,
    }  # fmt: skip


def cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tennis_lab", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def run_here(*args) -> tuple[int, str, list]:
    """A command in this process: its status, its console output and the figures it drew."""
    figures, draw = [], plots.timeline_figure

    def keep(*a, **k):
        figures.append(draw(*a, **k))
        return figures[-1]

    parsed = build_parser().parse_args([str(a) for a in args])
    command = predict_command if args[0] == "predict" else evaluate_command
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plots, "timeline_figure", keep)
        status = command(parsed, out=out)
    return status, out.getvalue(), figures


def figure_texts(figure, gid: str) -> str:
    return " ".join(t.get_text() for t in figure.texts if t.get_gid() == gid)


def fake_model(**spec) -> StrokeModel:
    """A model with only a spec (what the tests of messages need)."""
    spec = {"classes": ["idle", "forehand", "serve"], "mirror_left_handed": True, **spec}
    return StrokeModel(keras_model=None, spec=spec, source="/models/m")


@slow
def test_a_loaded_model_reproduces_the_runs_test_scores_on_raw_windows(store):
    windows, split, result = store["windows"], store["split"], store["result"]
    X = windows.windows(split.test)  # raw: standardisation is the model's job
    expected = result.model.predict(X, verbose=0)
    for ref in (
        store["run_id"],
        f"runs:/{store['run_id']}/model",
        DEFAULT_MODEL,
        f"models:/{DEFAULT_MODEL_NAME}/1",
    ):
        model = load_model(ref, tracking_uri=store["uri"])
        probs = model.predict_windows(X)
        np.testing.assert_allclose(probs, expected, atol=1e-5)
        window_f1 = evaluation.macro_f1(windows.y[split.test], probs.argmax(axis=1))
        assert window_f1 == pytest.approx(result.metrics["macro_avg_f1_score"])
    assert model.classes == windows.classes and model.window_size == 30 and model.stride == 15


@slow
def test_the_mlflow_model_has_a_signature_an_example_and_its_preprocessing(store):
    import mlflow
    from mlflow.models import Model

    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"runs:/{store['run_id']}/model", tracking_uri=store["uri"]
        )
    )
    info = Model.load(str(local))
    features = len(store["windows"].feature_names)
    assert info.signature.inputs.inputs[0].shape == (-1, 30, features)
    assert info.signature.outputs.inputs[0].shape == (-1, len(store["windows"].classes))
    spec = info.metadata["tennis_lab"]
    assert spec["classes"] == list(store["windows"].classes)
    assert spec["window_size"] == 30 and spec["overlap"] == 15 and spec["include_idle"] is True
    assert spec["landmark_names"] == list(store["windows"].landmark_names)
    assert {"reference_fps", "enable_fps_scaling", "normalization", "missing_frames"} <= set(spec)
    assert (local / "model.keras").is_file() and (local / "input_example.json").is_file()
    # a local folder is a model too, and MLflow's generic loader reads it
    assert load_model(local).spec == spec
    pyfunc = mlflow.pyfunc.load_model(str(local))
    X = store["windows"].windows(store["split"].test[:5])
    np.testing.assert_allclose(
        pyfunc.predict(X), store["result"].model.predict(X, verbose=0), atol=1e-5
    )


@slow
def test_predict_at_another_frame_rate_reads_the_recording_as_training_did(store):
    model = load_model(store["run_id"], tracking_uri=store["uri"])
    rec = read_recording(store["data"] / "poses" / f"{store['split'].test_videos[0]}.npz")
    timeline = predict_recording(model, rec)
    assert timeline.frame_probs.shape == (resampled_length(rec.n_frames, rec.fps, 30.0), 5)
    assert list(timeline.strokes.columns) == list(TIMELINE_COLUMNS)
    strokes = timeline.strokes
    assert (strokes["end_frame"] > strokes["start_frame"]).all()
    assert (strokes["end_frame"] <= rec.n_frames).all()
    np.testing.assert_allclose(
        strokes["start_seconds"], strokes["start_frame"] / rec.fps, atol=1e-3
    )
    assert set(strokes["label"]) <= set(model.classes) - {"idle"}
    assert len(strokes) and (strokes["handedness"] == ASSUMED_RIGHT).all()  # nobody said
    assert (strokes["note"] == "").all()  # a model with idle: no caveat
    # the same recording at twice the frame rate is resampled to the same timeline
    doubled = Recording(
        rec.video_id, np.repeat(rec.landmarks, 2, axis=0), rec.fps * 2,
        rec.landmark_names, rec.channel_names,
    )  # fmt: skip
    again = predict_recording(model, doubled)
    assert abs(len(again.frame_probs) - len(timeline.frame_probs)) <= 1
    assert again.timeline_fps == timeline.timeline_fps == 30.0


@slow
def test_left_handed_recordings_are_mirrored_only_when_asked(store):
    model = load_model(store["run_id"], tracking_uri=store["uri"])
    rec = read_recording(store["data"] / "poses" / "bruno_01.npz")  # a left-handed player
    plain = predict_recording(model, rec)
    mirrored = predict_recording(model, rec, left_handed=True)
    assert mirrored.mirrored and not plain.mirrored
    assert not np.allclose(plain.window_probs, mirrored.window_probs)


@slow
def test_predict_command_from_another_folder_writes_timeline_windows_and_figures(store, tmp_path):
    from tennis_lab.poses import load_dataset, write_annotations_csv

    poses = store["data"] / "poses"
    annotations = load_dataset(store["data"]).annotations
    annotations.loc[annotations.index[0], "label"] = "lob"  # a label the model does not know
    write_annotations_csv(annotations, tmp_path / "annotations.csv")
    out = cli(
        "predict", poses / "ana_01.npz", poses / "bruno_01.npz",
        "--model", store["run_id"], "--tracking-uri", store["uri"],
        "--videos", store["data"] / "videos.csv", "--annotations", "annotations.csv",
        "--output", "t/timeline.csv", "--windows", "t/windows.csv", "--plot", "t/timeline.png",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "bruno_01.npz" in out.stdout and "(mirrored: left-handed)" in out.stdout
    assert "x real time" in out.stdout
    first = annotations["video_id"].iloc[0]
    assert f"Note: 1 annotations of {first} have labels the model does not know" in out.stdout
    timeline = pd.read_csv(tmp_path / "t" / "timeline.csv")
    assert list(timeline.columns) == list(TIMELINE_COLUMNS)
    assert set(timeline["video_id"]) <= {"ana_01", "bruno_01"}
    # handedness from videos.csv, no caveat; what confidence is, said beside the file
    hands = dict(zip(timeline["video_id"], timeline["handedness"], strict=True))
    assert set(hands.items()) <= {("ana_01", "right"), ("bruno_01", "left")}
    assert timeline["note"].isna().all() and "handedness unknown" not in out.stdout
    about = json.loads((tmp_path / "t" / "timeline_about.json").read_text())
    assert list(about["columns"]) == list(TIMELINE_COLUMNS) and about["notes"] == []
    assert about["run_id"] == store["run_id"]
    assert f"confidence: {CONFIDENCE_MEANING}" in out.stdout
    assert "timeline_about.json" in out.stdout
    windows = pd.read_csv(tmp_path / "t" / "windows.csv")
    probs = windows.filter(like="p_").to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    for video in ("ana_01", "bruno_01"):
        png = tmp_path / "t" / f"timeline_{video}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@slow
def test_bad_models_and_recordings_get_clear_errors_before_any_prediction(store, tmp_path):
    with pytest.raises(PredictError, match="is not a run id, a runs:/ or models:/ URI"):
        resolve_model_uri("no-such-thing")
    with pytest.raises(PredictError, match="cannot load model runs:/0{32}/model"):
        load_model("0" * 32, tracking_uri=store["uri"])
    with pytest.raises(PredictError, match="no champion yet"):
        load_model(None, tracking_uri=f"sqlite:///{tmp_path / 'empty.db'}")
    model = load_model(store["run_id"], tracking_uri=store["uri"])
    rec = read_recording(store["data"] / "poses" / "ana_01.npz")
    fewer = Recording(
        rec.video_id, rec.landmarks[:, 1:], rec.fps, rec.landmark_names[1:], rec.channel_names
    )
    with pytest.raises(PredictError, match="landmark layout .* differs from the model's"):
        predict_recording(model, fewer)
    short = Recording(rec.video_id, rec.landmarks[:20], rec.fps, rec.landmark_names,
                      rec.channel_names)  # fmt: skip
    with pytest.raises(PredictError, match="shorter than one window of 30 frames"):
        predict_recording(model, short)
    write_recording(short, tmp_path / "short.npz")
    out = cli("predict", tmp_path / "short.npz", "--model", store["run_id"],
              "--tracking-uri", store["uri"], cwd=tmp_path)  # fmt: skip
    assert out.returncode == 2 and "shorter than one window" in out.stderr
    out = cli("predict", tmp_path / "missing.npz", "--model", "garbage", cwd=tmp_path)
    assert out.returncode == 2 and "missing.npz does not exist" in out.stderr


@slow
def test_event_scores_on_the_test_videos_equal_the_runs_event_metrics(store, tmp_path):
    model = load_model(store["run_id"], tracking_uri=store["uri"])
    videos = list(store["split"].test_videos)
    scores = event_evaluation(model, store["data"], videos=videos)
    metrics = store["result"].metrics
    overall = scores["overall"]
    assert overall["f1"] == pytest.approx(metrics["test_event_f1"], nan_ok=True)
    assert overall["precision"] == pytest.approx(metrics["test_event_precision"], nan_ok=True)
    assert scores["macro_f1"] == pytest.approx(metrics["test_event_macro_f1"], nan_ok=True)
    annotated = sum(v["annotated"] for v in scores["per_class"].values())
    assert annotated == int(metrics["test_strokes"])
    assert np.asarray(scores["confusion"]).sum() >= annotated

    out = cli(
        "evaluate", store["data"], "--model", store["run_id"], "--tracking-uri", store["uri"],
        *[a for v in videos for a in ("--video", v)], "--output", "scores.json", "--plots", "figs",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "macro F1 over annotated classes" in out.stdout and "Confusion" in out.stdout
    saved = json.loads((tmp_path / "scores.json").read_text())
    assert saved["overall"]["f1"] == pytest.approx(overall["f1"], nan_ok=True)
    assert sorted(p.stem for p in (tmp_path / "figs").glob("*.png")) == sorted(videos)
    # --split test: the same videos, read from the model's own run
    status, out, figures = run_here(
        "evaluate", store["data"], "--model", f"models:/{DEFAULT_MODEL_NAME}@{CHAMPION_ALIAS}",
        "--tracking-uri", store["uri"], "--split", "test", "--output", tmp_path / "split.json",
        "--plots", tmp_path / "split_figs",
    )  # fmt: skip
    assert status == 0
    assert f"The test videos of run {store['run_id']}: {', '.join(videos)}" in out
    split = json.loads((tmp_path / "split.json").read_text())
    assert split["videos"] == videos
    assert split["overall"]["f1"] == pytest.approx(overall["f1"], nan_ok=True)
    assert all(figure_texts(f, plots.NOTE_GID) == "" for f in figures)  # idle: no caveat


@slow
def test_a_model_without_the_idle_class_says_it_cannot_say_no_stroke(store, tmp_path):
    model = load_model(store["no_idle_id"], tracking_uri=store["uri"])
    assert "cannot say 'no stroke'" in no_idle_note(model, 0.0)
    assert "--threshold" in no_idle_note(model, 0.0)
    assert no_idle_note(load_model(store["run_id"], tracking_uri=store["uri"]), 0.0) is None
    rec = read_recording(store["data"] / "poses" / "ana_01.npz")
    everything = predict_recording(model, rec)
    confident = predict_recording(model, rec, threshold=0.9)
    covered = lambda t: int((t.strokes["end_frame"] - t.strokes["start_frame"]).sum())  # noqa: E731
    assert covered(confident) < covered(everything)
    status, out, (figure,) = run_here(
        "predict", store["data"] / "poses" / "ana_01.npz", "--model", store["no_idle_id"],
        "--tracking-uri", store["uri"], "--videos", store["data"] / "videos.csv",
        "--output", tmp_path / "t.csv", "--plot", tmp_path / "t.png",
    )  # fmt: skip
    assert status == 0 and "include_idle: true" in out
    # the caveat travels with the outputs: each CSV row, the sidecar, the figure
    timeline = pd.read_csv(tmp_path / "t.csv")
    assert len(timeline) and (timeline["note"] == NO_IDLE_SHORT).all()
    notes = json.loads(about_path(tmp_path / "t.csv").read_text())["notes"]
    assert notes == [no_idle_note(model, 0.0)]
    assert "cannot say 'no stroke'" in figure_texts(figure, plots.NOTE_GID).replace("\n", " ")
    assert (tmp_path / "t.png").is_file()


@slow
def test_promote_moves_the_champion_and_reuses_a_runs_version(store, tmp_path):
    uri = store["uri"]
    before = model_version_by_alias(tracking_uri=uri)
    out = cli("promote", store["no_idle_id"], "--tracking-uri", uri, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"models:/{DEFAULT_MODEL_NAME}@{CHAMPION_ALIAS} -> version" in out.stdout
    after = model_version_by_alias(tracking_uri=uri)
    assert after.run_id == store["no_idle_id"] and after.version != before.version
    again = register_model(store["run_id"], tracking_uri=uri)  # back, with its old version
    assert again.version == before.version
    assert model_version_by_alias(tracking_uri=uri).run_id == store["run_id"]
    with pytest.raises(TrackingError, match="not found"):
        register_model("f" * 32, tracking_uri=uri)


@slow
def test_predict_without_handedness_says_it_assumed_right_handed_everywhere(store, tmp_path):
    poses, uri, run = store["data"] / "poses", store["uri"], store["run_id"]
    status, out, (figure,) = run_here(
        "predict", poses / "bruno_01.npz", "--model", run, "--tracking-uri", uri,
        "--output", tmp_path / "t.csv", "--plot", tmp_path / "t.png",
    )  # fmt: skip
    warning = (
        "handedness unknown for bruno_01: assumed right-handed; "
        "pass --left-handed or --videos videos.csv"
    )
    assert status == 0 and f"Warning: {warning}" in out and "(mirrored" not in out
    timeline = pd.read_csv(tmp_path / "t.csv")
    assert len(timeline) and (timeline["handedness"] == ASSUMED_RIGHT).all()
    assert json.loads(about_path(tmp_path / "t.csv").read_text())["notes"] == [warning]
    note = figure_texts(figure, plots.NOTE_GID).replace("\n", " ")
    assert "Handedness unknown for bruno_01: assumed right-handed" in note
    # told: no warning, the hand in the CSV
    status, out, (figure,) = run_here(
        "predict", poses / "bruno_01.npz", "--model", run, "--tracking-uri", uri,
        "--left-handed", "--output", tmp_path / "l.csv", "--plot", tmp_path / "l.png",
    )  # fmt: skip
    assert status == 0 and "handedness unknown" not in out and "(mirrored: left-handed)" in out
    assert (pd.read_csv(tmp_path / "l.csv")["handedness"] == "left").all()
    assert figure_texts(figure, plots.NOTE_GID) == ""
    # a videos.csv without the hand: the warning names that file
    videos = tmp_path / "videos.csv"
    videos.write_text("video_id,player\nbruno_01,bruno\n")
    status, out, _ = run_here(
        "predict", poses / "bruno_01.npz", "--model", run, "--tracking-uri", uri,
        "--videos", videos, "--output", tmp_path / "v.csv",
    )  # fmt: skip
    assert status == 0
    assert f"assumed right-handed; write left or right in the handedness column of {videos}" in out


@slow
def test_evaluate_split_needs_the_runs_videos_in_the_dataset(store, capsys):
    from tennis_lab.predict.commands import _split_in_dataset

    model = load_model(store["run_id"], tracking_uri=store["uri"])
    assert split_videos(model, "val") == list(store["split"].val_videos)
    with pytest.raises(PredictError, match=r"other has no recordings for \d+ of the \d+ test"):
        _split_in_dataset(model, "test", "other", [])
    # a run logged without its data facts (as older versions did)
    bare = dataclasses.replace(store["result"], data={})
    bare_id = log_training_run(bare, {**DATA, **TRAIN}, tracking_uri=store["uri"], experiment="p")
    status, out, _ = run_here(
        "evaluate", store["data"], "--model", bare_id, "--tracking-uri", store["uri"],
        "--split", "test",
    )  # fmt: skip
    error = capsys.readouterr().err
    assert status == 2 and f"run {bare_id} (model runs:/{bare_id}/model) records no test" in error
    assert "choose videos with --video" in error


def test_the_timeline_figure_says_what_its_numbers_are_and_shows_a_note():
    probs = np.full((90, 3), 1 / 3)
    strokes = {"start": np.array([10]), "end": np.array([40]), "label": np.array([1])}
    plain = plots.timeline_figure(probs, ["idle", "forehand", "serve"], 30.0, detected=strokes)
    caption = figure_texts(plain, plots.CAPTION_GID).replace("\n", " ")
    assert "softmax" in caption and "not calibrated probabilities" in caption
    assert "Percentages" not in caption  # no confidence given, none shown
    assert "softmax" in plain.axes[0].get_ylabel()
    assert figure_texts(plain, plots.NOTE_GID) == ""
    scored = {**strokes, "confidence": np.array([0.7])}
    noted = plots.timeline_figure(
        probs, ["idle", "forehand", "serve"], 30.0, detected=scored, note="Careful\nAlso this"
    )
    caption = figure_texts(noted, plots.CAPTION_GID).replace("\n", " ")
    assert "confidence, the mean probability of its class over its frames" in caption
    assert figure_texts(noted, plots.NOTE_GID) == "Careful\nAlso this"
    assert noted.get_figheight() > plain.get_figheight()  # room for the note, not less plot


def test_handedness_is_as_given_else_assumed_right_and_the_warning_names_the_fix():
    mirrors, as_recorded = fake_model(), fake_model(mirror_left_handed=False)
    assert [handedness_label(mirrors, h) for h in ("left", "right", None)] == [
        "left", "right", ASSUMED_RIGHT,
    ]  # fmt: skip
    assert handedness_label(as_recorded, None) == "unknown"  # nothing assumed
    assert handedness_warning("ana_01", None) == (
        "handedness unknown for ana_01: assumed right-handed; "
        "pass --left-handed or --videos videos.csv"
    )
    assert "handedness column of club/videos.csv" in handedness_warning("ana_01", "club/videos.csv")


def test_the_timeline_sidecar_explains_every_column_and_confidence():
    about = timeline_about(fake_model(), ["a caveat"])
    assert list(about["columns"]) == list(TIMELINE_COLUMNS)
    assert about["columns"]["confidence"] == CONFIDENCE_MEANING
    assert "softmax" in CONFIDENCE_MEANING and "not a calibrated probability" in CONFIDENCE_MEANING
    assert about["notes"] == ["a caveat"] and about["classes"] == ["idle", "forehand", "serve"]
    assert about_path("out/timeline.csv") == Path("out/timeline_about.json")
    json.dumps(about)  # plain JSON


def test_split_videos_needs_the_run_and_evaluate_takes_a_split_or_videos():
    with pytest.raises(PredictError, match=r"model /models/m is a model folder.*--model RUN_ID"):
        split_videos(fake_model(), "test")
    with pytest.raises(PredictError, match=r"split must be one of .*got 'holdout'"):
        split_videos(fake_model(), "holdout")
    parser = argparse.ArgumentParser()
    add_evaluate_arguments(parser)
    assert parser.parse_args(["data", "--split", "test"]).split == "test"
    for wrong in (["--split", "test", "--video", "a"], ["--split", "train"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["data", *wrong])
