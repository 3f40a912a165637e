"""Tests of tennis_lab.poses: file formats, Label Studio, validation, summary."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from tennis_lab.poses import (
    ANNOTATION_COLUMNS,
    HANDEDNESS,
    VIDEO_COLUMNS,
    VIDEOS_CSV,
    DataFormatError,
    PoseDataset,
    Recording,
    Skipped,
    format_summary,
    labelstudio_task,
    load_dataset,
    read_annotations_csv,
    read_dataset_config,
    read_labelstudio,
    read_recording,
    read_videos_csv,
    video_id_from_path,
    write_annotations_csv,
    write_recording,
)

COLS = list(ANNOTATION_COLUMNS)


def save_raw_npz(path, drop=(), **arrays):
    """Write a recording .npz by hand (no validation): a valid one, with overrides."""
    content = {
        "landmarks": np.zeros((5, 3, 2), dtype=np.float32),
        "fps": np.float64(30.0),
        "landmark_names": np.array(["a", "b", "c"]),
        "channel_names": np.array(["x", "y"]),
    }
    content.update(arrays)
    for key in drop:
        del content[key]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **content)
    return path


def ls_result(label, *ranges, kind="timelinelabels"):
    """A Label Studio timeline result; ranges are 1-based inclusive (start, end)."""
    return {
        "type": kind,
        "from_name": "stroke",
        "to_name": "video",
        "value": {
            "ranges": [{"start": s, "end": e} for s, e in ranges],
            "timelinelabels": [label],
        },
    }


CHOICE = {"type": "choices", "from_name": "quality", "value": {"choices": ["good"]}}


def frame(rows):
    return pd.DataFrame(rows, columns=COLS)


def plain(df):
    """Annotation columns only, fresh index and plain dtypes, for comparisons."""
    out = df[COLS].reset_index(drop=True).copy()
    out["video_id"] = out["video_id"].astype(object)
    out["label"] = out["label"].astype(object)
    return out.astype({"start_frame": np.int64, "end_frame": np.int64})


# --------------------------------------------------------------------------- round trips


def test_recording_round_trip_keeps_values_nan_frames_fps_and_names(tmp_path, make_recording):
    rec = make_recording("video_05", 12, fps=59.94, missing=(0, 7))
    path = write_recording(rec, tmp_path / "poses" / "video_05.npz")

    back = read_recording(path)

    assert back.video_id == "video_05"
    assert back.landmarks.dtype == np.float32
    np.testing.assert_array_equal(back.landmarks, rec.landmarks)  # NaN == NaN here
    assert np.isnan(back.landmarks[[0, 7]]).all()
    assert not np.isnan(back.landmarks[[1, 2, 6, 8]]).any()
    assert back.missing_frames == 2
    assert back.fps == 59.94
    assert back.landmark_names == rec.landmark_names
    assert back.channel_names == rec.channel_names


def test_recording_npz_holds_no_object_arrays(tmp_path, make_recording):
    path = write_recording(make_recording("v", 4), tmp_path / "v.npz")
    with np.load(path, allow_pickle=False) as npz:  # would raise on an object array
        assert sorted(npz.files) == ["channel_names", "fps", "landmark_names", "landmarks"]
        assert all(npz[k].dtype != object for k in npz.files)


def test_annotations_csv_round_trip(tmp_path):
    ann = frame([("video_01", 0, 15, "forehand"), ("video 2", 30, 45, "slice direita")])
    path = write_annotations_csv(ann, tmp_path / "annotations.csv")

    back = read_annotations_csv(path)

    assert list(back.columns) == [*COLS, "source"]
    pd.testing.assert_frame_equal(plain(back), plain(ann))
    assert (back["source"] == str(path)).all()


def test_load_dataset_applies_class_map_and_counts_ignored_labels(dataset_dir, make_recording):
    ds = load_dataset(dataset_dir)

    assert ds.video_ids == ("video_01", "video_02", "video_03")
    assert ds.classes == ("forehand", "serve")
    expected = frame(
        [
            ("video_01", 10, 30, "forehand"),
            ("video_01", 50, 70, "serve"),
            ("video_01", 80, 90, "forehand"),
            ("video_02", 0, 20, "forehand"),
        ]
    )
    pd.testing.assert_frame_equal(plain(ds.annotations), plain(expected))
    assert list(ds.annotations["raw_label"]) == ["Fronthand", "saque", "forehand", "slice direita"]
    csv = str(dataset_dir / "annotations.csv")
    assert ds.skipped == [Skipped(csv, "ignored label 'point'", 2)]
    assert ds.config.description == "hand-made test set"
    # the recordings come back as written
    rec = ds.recordings["video_01"]
    np.testing.assert_array_equal(
        rec.landmarks, make_recording("video_01", 100, missing=(3, 4), seed=1).landmarks
    )
    assert (rec.fps, ds.recordings["video_02"].fps) == (30.0, 60.0)


def test_load_dataset_counts_files_that_are_not_recordings(dataset_dir):
    (dataset_dir / "poses" / "notes.txt").write_text("not a recording")
    ds = load_dataset(dataset_dir)
    assert Skipped(str(dataset_dir / "poses"), "not a .npz recording", 1) in ds.skipped


def test_read_dataset_config(tmp_path):
    path = tmp_path / "dataset.yaml"
    path.write_text(
        yaml.safe_dump({"class_map": {"saque": "serve"}, "ignore_labels": ["point", "other"]})
    )
    config = read_dataset_config(path)
    assert dict(config.class_map) == {"saque": "serve"}
    assert config.ignore_labels == frozenset({"point", "other"})
    assert config.resolve("saque") == "serve"
    assert config.resolve("serve") == "serve"  # a class name is a label of itself
    assert config.resolve("point") is None
    with pytest.raises(KeyError):
        config.resolve("lob")


# --------------------------------------------------------------------------- Label Studio


@pytest.mark.parametrize(
    "reference, video_id",
    [
        ("/data/upload/3/video_07.mp4", "video_07"),
        ("/data/upload/3/1a2b3c4d-video_07.mp4", "1a2b3c4d-video_07"),
        ("https://host/videos/video_07.MOV?token=abc", "video_07"),
        ("C:\\clips\\video_07.mp4", "video_07"),
        ("video_07", "video_07"),
    ],
)
def test_video_id_from_path(reference, video_id):
    assert video_id_from_path(reference) == video_id


def project_export():
    """A Label Studio project export: three tasks, results in both places."""
    return [
        {
            "id": 1,
            "data": {"video": "/data/upload/3/video_07.mp4"},
            "annotations": [{"id": 11, "result": [ls_result("forehand", (1, 10)), CHOICE]}],
        },
        {
            "id": 2,
            "data": {"video": "/data/upload/3/1a2b3c4d-video_08.mp4"},
            "result": [ls_result("serve", (21, 30), (41, 45))],
        },
        {
            "id": 3,
            "data": {"video": "/data/upload/3/video_09.mp4"},
            "annotations": [
                {"id": 31, "result": [ls_result("backhand", (5, 5))]},
                {"id": 32, "result": [ls_result("forehand", (50, 60))]},
            ],
        },
    ]


def test_read_labelstudio_project_export_every_task_counts(tmp_path):
    path = tmp_path / "project.json"
    path.write_text(json.dumps(project_export()))

    ann, skipped = read_labelstudio(path)

    expected = frame(
        [
            ("video_07", 0, 10, "forehand"),
            ("1a2b3c4d-video_08", 20, 30, "serve"),
            ("1a2b3c4d-video_08", 40, 45, "serve"),
            ("video_09", 4, 5, "backhand"),
            ("video_09", 49, 60, "forehand"),
        ]
    )
    pd.testing.assert_frame_equal(plain(ann), plain(expected))
    assert (ann["source"] == str(path)).all()
    assert skipped == [Skipped(str(path), "result of type 'choices'", 1)]


def test_read_labelstudio_single_task_object(tmp_path):
    path = tmp_path / "task.json"
    task = {
        "id": 9,
        "data": {"video": "/data/upload/3/video_10.mp4"},
        "annotations": [{"result": [ls_result("serve", (1, 30)), CHOICE, CHOICE]}],
    }
    path.write_text(json.dumps(task))

    ann, skipped = read_labelstudio(path)

    pd.testing.assert_frame_equal(plain(ann), plain(frame([("video_10", 0, 30, "serve")])))
    assert skipped == [Skipped(str(path), "result of type 'choices'", 2)]


def test_load_dataset_from_labelstudio_resolves_upload_prefix(make_dataset, make_recording):
    recs = [make_recording(v, 100) for v in ("video_07", "video_08", "video_09", "video_10")]
    root = make_dataset(recs)
    (root / "labelstudio").mkdir()
    (root / "labelstudio" / "project.json").write_text(json.dumps(project_export()))
    single = {
        "data": {"video": "/data/upload/3/video_10.mp4"},
        "result": [ls_result("serve", (1, 2))],
    }
    (root / "labelstudio" / "single.json").write_text(json.dumps(single))

    ds = load_dataset(root)

    assert sorted(set(ds.annotations["video_id"])) == [
        "video_07",
        "video_08",
        "video_09",
        "video_10",
    ]
    assert len(ds.annotations) == 6
    video_08 = ds.annotations[ds.annotations.video_id == "video_08"]
    assert video_08[["start_frame", "end_frame"]].values.tolist() == [[20, 30], [40, 45]]
    assert Skipped(str(root / "labelstudio" / "project.json"), "result of type 'choices'", 1) in (
        ds.skipped
    )


def test_upload_prefix_is_kept_when_the_stripped_video_does_not_exist(make_dataset, make_recording):
    root = make_dataset([make_recording("video_07", 100)])
    (root / "labelstudio").mkdir()
    task = {
        "data": {"video": "/data/upload/3/1a2b3c4d-video_99.mp4"},
        "result": [ls_result("x", (1, 2))],
    }
    (root / "labelstudio" / "t.json").write_text(json.dumps(task))
    with pytest.raises(
        DataFormatError, match=r"t\.json: annotation for unknown video id '1a2b3c4d-video_99'"
    ):
        load_dataset(root)


def test_labelstudio_task_reads_back_identically(tmp_path):
    ann = frame(
        [("video_07", 0, 10, "forehand"), ("video_07", 44, 45, "serve"), ("video_07", 60, 90, "x")]
    )
    task = labelstudio_task("/data/upload/3/video_07.mp4", ann, task_id=4)
    assert task["annotations"][0]["result"][0]["value"]["ranges"] == [{"start": 1, "end": 10}]
    path = tmp_path / "task.json"
    path.write_text(json.dumps(task))

    back, skipped = read_labelstudio(path)

    pd.testing.assert_frame_equal(plain(back), plain(ann))
    assert skipped == []


# --------------------------------------------------------------------------- bad input


def test_annotation_past_last_frame(make_dataset, make_recording):
    root = make_dataset([make_recording("video_01", 100)], [("video_01", 90, 101, "forehand")])
    with pytest.raises(
        DataFormatError,
        match=r"annotations\.csv: stroke 'forehand' of video_01 ends at frame 101, past the "
        r"recording's last frame \(100 frames\)",
    ):
        load_dataset(root)


def test_annotation_ending_on_the_last_frame_is_fine(make_dataset, make_recording):
    root = make_dataset([make_recording("video_01", 100)], [("video_01", 90, 100, "forehand")])
    assert load_dataset(root).annotations["end_frame"].tolist() == [100]


@pytest.mark.parametrize("start, end", [(30, 30), (31, 30)])
def test_annotation_start_not_below_end(make_dataset, make_recording, start, end):
    root = make_dataset([make_recording("video_01", 100)], [("video_01", start, end, "forehand")])
    with pytest.raises(
        DataFormatError,
        match=rf"annotations\.csv: stroke 'forehand' of video_01 has start_frame {start} "
        rf"and end_frame {end}",
    ):
        load_dataset(root)


def test_annotation_of_unknown_video(make_dataset, make_recording):
    root = make_dataset([make_recording("video_01", 100)], [("video_99", 0, 10, "forehand")])
    with pytest.raises(
        DataFormatError, match=r"annotations\.csv: annotation for unknown video id 'video_99'"
    ):
        load_dataset(root)


def test_label_not_in_class_map(make_dataset, make_recording):
    root = make_dataset(
        [make_recording("video_01", 100)],
        [("video_01", 0, 10, "saque"), ("video_01", 20, 30, "lob")],
        {"class_map": {"saque": "serve"}},
    )
    with pytest.raises(
        DataFormatError,
        match=r"annotations\.csv: label 'lob' \(video video_01\) is not in the class map of "
        r"dataset\.yaml",
    ):
        load_dataset(root)


def test_missing_fps(tmp_path):
    path = save_raw_npz(tmp_path / "poses" / "video_01.npz", drop=["fps"])
    with pytest.raises(DataFormatError, match=r"video_01\.npz: missing array\(s\) \['fps'\]"):
        read_recording(path)


@pytest.mark.parametrize("fps", [0.0, -30.0, float("nan")])
def test_non_positive_fps(tmp_path, fps):
    path = save_raw_npz(tmp_path / "poses" / "video_01.npz", fps=np.float64(fps))
    with pytest.raises(
        DataFormatError, match=rf"video_01\.npz: fps is {fps!r}; it must be a positive number"
    ):
        read_recording(path)


def test_non_positive_fps_is_refused_on_write(tmp_path, make_recording):
    rec = make_recording("video_01", 5)
    bad = Recording(rec.video_id, rec.landmarks, 0, rec.landmark_names, rec.channel_names)
    with pytest.raises(
        DataFormatError, match=r"video_01\.npz: fps is 0; it must be a positive number"
    ):
        write_recording(bad, tmp_path / "video_01.npz")
    assert not (tmp_path / "video_01.npz").exists()


def test_missing_dataset_folder(tmp_path):
    with pytest.raises(DataFormatError, match=r"nowhere: dataset folder does not exist"):
        load_dataset(tmp_path / "nowhere")


def test_empty_folder_has_no_recordings(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(DataFormatError, match=r"poses: no recordings \(\*\.npz\) found"):
        load_dataset(tmp_path / "data")


def test_poses_folder_without_npz_has_no_recordings(tmp_path):
    (tmp_path / "data" / "poses").mkdir(parents=True)
    (tmp_path / "data" / "poses" / "video_01.csv").write_text("x,y\n")
    with pytest.raises(DataFormatError, match=r"poses: no recordings \(\*\.npz\) found"):
        load_dataset(tmp_path / "data")


def test_recordings_without_annotations(make_dataset, make_recording):
    root = make_dataset([make_recording("video_01", 10)])
    with pytest.raises(
        DataFormatError, match=r"data: no annotations: neither annotations\.csv nor labelstudio"
    ):
        load_dataset(root)


def test_wrong_landmarks_rank(tmp_path):
    path = save_raw_npz(tmp_path / "video_01.npz", landmarks=np.zeros((5, 6), np.float32))
    with pytest.raises(
        DataFormatError, match=r"video_01\.npz: 'landmarks' has rank 2 \(shape \(5, 6\)\)"
    ):
        read_recording(path)


def test_landmark_names_count_mismatch(tmp_path):
    path = save_raw_npz(tmp_path / "video_01.npz", landmark_names=np.array(["a", "b"]))
    with pytest.raises(DataFormatError, match=r"video_01\.npz: 2 landmark_names for 3 landmarks"):
        read_recording(path)


def test_channel_names_count_mismatch(tmp_path):
    path = save_raw_npz(tmp_path / "video_01.npz", channel_names=np.array(["x", "y", "z"]))
    with pytest.raises(DataFormatError, match=r"video_01\.npz: 3 channel_names for 2 channels"):
        read_recording(path)


def test_bad_recording_in_a_dataset_names_its_file(make_dataset, make_recording):
    root = make_dataset([make_recording("video_01", 10)], [("video_01", 0, 5, "forehand")])
    save_raw_npz(root / "poses" / "video_02.npz", channel_names=np.array(["x"]))
    with pytest.raises(DataFormatError, match=r"video_02\.npz: 1 channel_names for 2 channels"):
        load_dataset(root)


class _MakesDirWhenUnpickled:
    """Pickles as a call to os.mkdir(path): unpickling it leaves a visible trace."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


@pytest.mark.parametrize("key", ["landmarks", "landmark_names"])
def test_object_array_is_refused_and_never_unpickled(tmp_path, key):
    trace = tmp_path / "unpickled"
    payload = np.empty(3, dtype=object)
    payload[:] = [_MakesDirWhenUnpickled(trace), "b", "c"]
    path = save_raw_npz(tmp_path / "video_01.npz", **{key: payload})
    # The trap works: loading with pickles allowed runs it.
    with np.load(path, allow_pickle=True) as npz:
        npz[key]
    assert trace.is_dir()
    trace.rmdir()

    with pytest.raises(DataFormatError, match=r"video_01\.npz: holds an object \(pickled\) array"):
        read_recording(path)
    assert not trace.exists()


def test_unknown_dataset_yaml_key(make_dataset, make_recording):
    root = make_dataset(
        [make_recording("video_01", 10)],
        [("video_01", 0, 5, "forehand")],
        {"classmap": {"a": "b"}, "description": "typo"},
    )
    with pytest.raises(DataFormatError, match=r"dataset\.yaml: unknown key\(s\) \['classmap'\]"):
        load_dataset(root)


# --------------------------------------------------------------------------- summary


def test_summary_of_the_hand_made_dataset(dataset_dir):
    s = load_dataset(dataset_dir).summary()

    assert s["videos"] == 3
    assert s["frames"] == 210
    assert s["duration_seconds"] == pytest.approx(100 / 30 + 60 / 60 + 50 / 30)
    assert s["fps"] == {30.0: 2, 60.0: 1}
    assert s["missing_frames"] == 2
    assert (s["landmarks"], s["channels"]) == (5, ["x", "y", "z", "visibility"])
    assert s["strokes"] == 4
    assert s["strokes_per_class"] == {"forehand": 3, "serve": 1}
    # video_01: 20 + 20 + 10 frames, video_02: 20 (its ignored strokes do not count)
    assert s["annotation_coverage"] == 70 / 210
    assert s["unannotated_videos"] == ["video_03"]
    assert s["skipped"] == [(str(dataset_dir / "annotations.csv"), "ignored label 'point'", 2)]


def test_summary_coverage_counts_overlapping_strokes_once(make_dataset, make_recording):
    root = make_dataset(
        [make_recording("a", 100), make_recording("b", 50)],
        [("a", 10, 30, "forehand"), ("a", 20, 40, "serve"), ("a", 90, 100, "serve")],
    )
    s = load_dataset(root).summary()
    assert s["annotation_coverage"] == 40 / 150  # frames 10-39 and 90-99 of 150
    assert s["unannotated_videos"] == ["b"]
    assert s["strokes_per_class"] == {"forehand": 1, "serve": 2}


def test_format_summary_mentions_skipped_and_unannotated(dataset_dir):
    text = format_summary(load_dataset(dataset_dir).summary())

    assert re.search(r"Strokes:\s+4\n", text)
    assert re.search(r"forehand\s+3\n", text)
    assert "Annotated:   33.3% of frames" in text
    assert "No strokes:  video_03" in text
    assert f"2 x ignored label 'point' ({dataset_dir / 'annotations.csv'})" in text
    assert "Skipped:     nothing" not in text


def test_format_summary_says_when_nothing_was_skipped(make_dataset, make_recording):
    root = make_dataset([make_recording("a", 10)], [("a", 0, 5, "serve")])
    text = format_summary(load_dataset(root).summary())
    assert "Skipped:     nothing" in text
    assert "No strokes" not in text


def test_labelstudio_range_not_in_whole_frames_is_refused(tmp_path):
    task = {
        "id": 4,
        "data": {"video": "/data/upload/1/video_01.mp4"},
        "result": [
            {
                "type": "timelinelabels",
                "value": {"ranges": [{"start": 10.5, "end": 20}], "timelinelabels": ["forehand"]},
            }
        ],
    }
    path = tmp_path / "frac.json"
    path.write_text(json.dumps(task))
    with pytest.raises(DataFormatError, match=r"frac\.json: task 4: range .* not in whole frames"):
        read_labelstudio(path)


def test_labelstudio_local_storage_link_gives_the_file_name():
    assert video_id_from_path("/data/local-files/?d=videos/rally_07.mp4") == "rally_07"


def test_landmarks_that_are_not_numbers_are_refused(tmp_path):
    path = tmp_path / "text.npz"
    np.savez(
        path,
        landmarks=np.full((3, 1, 1), "x"),
        fps=np.float64(30),
        landmark_names=np.array(["nose"]),
        channel_names=np.array(["x"]),
    )
    with pytest.raises(
        DataFormatError, match=r"text\.npz: 'landmarks' has dtype <U1; expected numbers"
    ):
        read_recording(path)


def test_class_names_must_be_usable_as_metric_names(dataset_dir):
    root = dataset_dir
    ann = pd.read_csv(root / "annotations.csv")
    ann.loc[0, "label"] = "forehand (slice)"
    ann.to_csv(root / "annotations.csv", index=False)
    (root / "dataset.yaml").unlink()
    with pytest.raises(DataFormatError, match=r"annotations\.csv: class name 'forehand \(slice\)'"):
        load_dataset(root)


# --------------------------------------------------------------------------- videos.csv

VIDEO_IDS = ("video_01", "video_02", "video_03")


def write_videos(root, text):
    path = root / VIDEOS_CSV
    path.write_text(text, encoding="utf-8")
    return path


def test_videos_csv_constants():
    assert VIDEOS_CSV == "videos.csv"
    assert HANDEDNESS == ("left", "right")
    assert VIDEO_COLUMNS == ("player", "handedness", "session")


def test_read_videos_csv_reads_text_strips_and_keeps_extra_columns(tmp_path):
    path = write_videos(
        tmp_path,
        "video_id,player,handedness,session,camera\n"
        "video_02, bruno , LEFT ,2024-03-01,phone\n"
        "video_01,ana,Right,,\n"
        "\n"
        "0b092822-video_03,007,,1,\n",
    )
    df = read_videos_csv(path, VIDEO_IDS)
    assert list(df.columns) == ["video_id", "player", "handedness", "session", "camera"]
    assert df.to_dict("records") == [
        {
            "video_id": "video_02",
            "player": "bruno",
            "handedness": "left",
            "session": "2024-03-01",
            "camera": "phone",
        },
        {"video_id": "video_01", "player": "ana", "handedness": "right", "session": None,
         "camera": None},
        # the upload prefix resolves; text stays text ("007", not 7); empty cells are None
        {"video_id": "video_03", "player": "007", "handedness": None, "session": "1",
         "camera": None},
    ]  # fmt: skip


def test_read_videos_csv_without_optional_columns(tmp_path):
    df = read_videos_csv(write_videos(tmp_path, "video_id\nvideo_01\n"), VIDEO_IDS)
    assert df.to_dict("records") == [
        {"video_id": "video_01", "player": None, "handedness": None, "session": None}
    ]


@pytest.mark.parametrize(
    "text, match",
    [
        ("player,handedness\nana,left\n", r"line 1: no 'video_id' column; found \['player'"),
        ("video_id,player\nvideo_01,ana\n ,bruno\n", r"line 3: video_id is empty"),
        (
            "video_id,player\nvideo_01,ana\nvideo_02,bruno\nvideo_01,carla\n",
            r"lines 2 and 4 both describe video 'video_01'.*Fix: keep one line per video",
        ),
        (
            "video_id,player\n1a2b3c4d-video_01,ana\nvideo_01,ana\n",
            r"lines 2 and 3 both describe video 'video_01'",
        ),
        (
            "video_id,player\nvideo_01,ana\nrally_09,bruno\n",
            r"line 3: video id 'rally_09' has no recording in poses/ \(recordings: "
            r"\['video_01', 'video_02', 'video_03'\]\).*Fix: remove the line.*"
            r"add poses/rally_09\.npz",
        ),
        (
            "video_id,handedness\nvideo_01,left\nvideo_02,l\n",
            r"line 3: handedness of video_02 is 'l'; expected left or right.*Fix: write left "
            r"or right, or leave the cell empty",
        ),
        ("video_id,handedness\nvideo_01,ambidextrous\n", r"line 2: .* is 'ambidextrous'"),
        ("video_id,player,player\nvideo_01,a,b\n", r"line 1: column\(s\) \['player'\]"),
        (",video_id,player\n0,video_01,ana\n", r"line 1: column 1 has no name"),
        ("video_id,player\nvideo_01,ana,extra\n", r"cannot be read as CSV"),
        ("", r"cannot be read as CSV"),
    ],
)
def test_bad_videos_csv_names_the_file_the_line_and_the_value(tmp_path, text, match):
    path = write_videos(tmp_path, text)
    with pytest.raises(DataFormatError, match=re.escape(str(path)) + ": " + match) as info:
        read_videos_csv(path, VIDEO_IDS)
    assert info.value.path == str(path)


def test_videos_csv_line_numbers_count_blank_lines(tmp_path):
    path = write_videos(tmp_path, "video_id,handedness\n\nvideo_01,left\n\nvideo_02,both\n")
    with pytest.raises(DataFormatError, match=r"line 5: handedness of video_02 is 'both'"):
        read_videos_csv(path, VIDEO_IDS)


def test_load_dataset_reads_videos_csv(dataset_dir):
    write_videos(
        dataset_dir,
        "video_id,session,player,handedness,court\nvideo_02,day_2,bruno,left,clay\n"
        "video_01,day_1,ana,right,\n",
    )
    ds = load_dataset(dataset_dir)
    # one row per recording, sorted; video_03 has no line: unknown
    assert ds.videos.to_dict("records") == [
        {"video_id": "video_01", "player": "ana", "handedness": "right", "session": "day_1",
         "court": None},
        {"video_id": "video_02", "player": "bruno", "handedness": "left", "session": "day_2",
         "court": "clay"},
        {"video_id": "video_03", "player": None, "handedness": None, "session": None,
         "court": None},
    ]  # fmt: skip
    assert ds.handedness == {"video_01": "right", "video_02": "left", "video_03": None}
    assert ds.video_metadata() == {
        "video_01": {"player": "ana", "handedness": "right", "session": "day_1"},
        "video_02": {"player": "bruno", "handedness": "left", "session": "day_2"},
        "video_03": {"player": None, "handedness": None, "session": None},
    }


def test_load_dataset_refuses_a_bad_videos_csv(dataset_dir):
    path = write_videos(dataset_dir, "video_id,handedness\nvideo_01,rechts\n")
    with pytest.raises(DataFormatError, match=re.escape(str(path)) + r": line 2: .*'rechts'"):
        load_dataset(dataset_dir)


def test_dataset_without_videos_csv_has_unknown_metadata(dataset_dir):
    ds = load_dataset(dataset_dir)
    assert list(ds.videos.columns) == ["video_id", "player", "handedness", "session"]
    assert list(ds.videos["video_id"]) == list(VIDEO_IDS)
    assert ds.videos[list(VIDEO_COLUMNS)].map(lambda v: v is None).all().all()
    assert ds.handedness == dict.fromkeys(VIDEO_IDS)
    assert ds.video_metadata() == {
        vid: {"player": None, "handedness": None, "session": None} for vid in VIDEO_IDS
    }


def test_pose_dataset_built_in_code_gets_one_videos_row_per_recording(make_recording):
    recs = {v: make_recording(v, 10) for v in ("b", "a")}
    ann = pd.DataFrame(columns=[*COLS, "raw_label", "source"])
    ds = PoseDataset(root=".", recordings=recs, annotations=ann)
    assert list(ds.videos["video_id"]) == ["a", "b"]
    assert ds.handedness == {"a": None, "b": None}


def test_summary_and_format_summary_with_videos_csv(dataset_dir):
    write_videos(
        dataset_dir,
        "video_id,player,handedness,session\nvideo_01,ana,right,day_1\n"
        "video_02,bruno,left,day_1\nvideo_03,ana,,day_2\n",
    )
    s = load_dataset(dataset_dir).summary()
    assert s["videos_csv"] is True
    assert s["players"] == ["ana", "bruno"]
    assert s["sessions"] == ["day_1", "day_2"]
    assert s["handedness"] == {"left": 1, "right": 1, "unknown": 1}
    # plain data: a JSON round trip (the window cache stores summaries) reads the same
    back = json.loads(json.dumps(s))
    assert {k: back[k] for k in ("videos_csv", "players", "sessions", "handedness")} == {
        k: s[k] for k in ("videos_csv", "players", "sessions", "handedness")
    }
    text = format_summary(s)
    assert "Players:     2 (ana, bruno)\n" in text
    assert "Sessions:    2 (day_1, day_2)\n" in text
    assert "Handedness:  1 right, 1 left, 1 unknown (videos)\n" in text
    assert "no videos.csv" not in text
    assert format_summary(back) == text


def test_format_summary_truncates_long_player_lists(make_dataset, make_recording):
    names = [f"p{i:02d}" for i in range(12)]
    root = make_dataset([make_recording(n, 10) for n in names], [("p00", 0, 5, "serve")])
    write_videos(root, "video_id,player\n" + "".join(f"{n},{n}\n" for n in names))
    text = format_summary(load_dataset(root).summary())
    assert "Players:     12 (p00, p01, p02, p03, p04, p05, p06, p07, ... (4 more))\n" in text
    assert "Sessions" not in text
    assert "Handedness:  0 right, 0 left, 12 unknown (videos)" in text


def test_summary_without_videos_csv_says_splits_are_by_video(dataset_dir):
    s = load_dataset(dataset_dir).summary()
    assert s["videos_csv"] is False
    assert (s["players"], s["sessions"]) == ([], [])
    assert s["handedness"] == {"left": 0, "right": 0, "unknown": 3}
    text = format_summary(s)
    (line,) = [t for t in text.splitlines() if "videos.csv" in t]
    assert "no videos.csv" in line and "by video" in line and "no recording is mirrored" in line
    assert "Handedness" not in text and "Sessions" not in text


def test_videos_csv_without_players_says_splits_are_by_video(dataset_dir):
    write_videos(dataset_dir, "video_id,handedness\nvideo_01,left\n")
    text = format_summary(load_dataset(dataset_dir).summary())
    assert "Players:     none named in videos.csv: splits are by video\n" in text
    assert "Handedness:  0 right, 1 left, 2 unknown (videos)" in text


def test_format_summary_of_an_older_summary_without_video_keys(dataset_dir):
    """Summaries cached (as JSON) by an older version have no videos.csv keys."""
    write_videos(dataset_dir, "video_id,player\nvideo_01,ana\n")
    s = load_dataset(dataset_dir).summary()
    old = json.loads(json.dumps(s))
    for key in ("videos_csv", "players", "sessions", "handedness"):
        del old[key]
    text = format_summary(old)
    assert "Strokes:     4" in text and "Videos:      3 (30 fps x2, 60 fps x1)" in text
    assert "Players" not in text and "Handedness" not in text and "videos.csv" not in text
