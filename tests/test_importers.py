"""Tests for tennis_lab.importers: MediaPipe npz and keypoint CSV into the dataset format."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from tennis_lab.importers import (
    MEDIAPIPE_SUBSET_INDICES,
    copy_annotations,
    import_keypoint_csv,
    import_mediapipe_npz,
)
from tennis_lab.poses import (
    MEDIAPIPE_CHANNELS,
    MEDIAPIPE_LANDMARKS,
    VIDEOS_CSV,
    DataFormatError,
    labelstudio_task,
    load_dataset,
    read_recording,
    write_annotations_csv,
)

SUBSET_NAMES = (
    "nose",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
)  # fmt: skip


def _rows(frames: int, width: int, seed: int = 0) -> np.ndarray:
    """MediaPipe-like rows with no zero value (values in [0.1, 1))."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 1.0, size=(frames, width)).astype(np.float32)


def _explode():
    raise RuntimeError("the object array was unpickled")


class _Trap:
    """Unpickling this object raises: loading it at all is detectable."""

    def __reduce__(self):
        return (_explode, ())


def _annotations(rows):
    return pd.DataFrame(rows, columns=["video_id", "start_frame", "end_frame", "label"])


# --------------------------------------------------------------------------- MediaPipe npz


def test_mediapipe_subset_zero_rows_become_nan_and_values_are_exact(tmp_path):
    rows = _rows(6, 60)
    rows[[1, 4]] = 0.0
    rows[2, :4] = 0.0  # a landmark at the origin in a detected pose stays 0
    src = tmp_path / "src"
    src.mkdir()
    np.savez(src / "clip1.npz", landmarks=rows, fps=np.float64(25.0))

    report = import_mediapipe_npz(src, tmp_path / "ds")

    assert report.imported == ["clip1"]
    assert report.frames == {"clip1": 6}
    assert report.missing_frames == {"clip1": 2}
    assert report.fps == {"clip1": 25.0}
    assert report.skipped == []
    rec = read_recording(tmp_path / "ds" / "poses" / "clip1.npz")
    assert rec.landmarks.shape == (6, 15, 4)
    assert rec.landmark_names == SUBSET_NAMES
    assert rec.landmark_names == tuple(MEDIAPIPE_LANDMARKS[i] for i in MEDIAPIPE_SUBSET_INDICES)
    assert rec.channel_names == MEDIAPIPE_CHANNELS
    assert rec.fps == 25.0
    assert np.isnan(rec.landmarks[[1, 4]]).all()
    kept = [0, 2, 3, 5]
    np.testing.assert_array_equal(rec.landmarks[kept], rows[kept].reshape(4, 15, 4))
    # landmark-major: landmark 11 (left_shoulder) is columns 4..7, its visibility column 7
    assert rec.landmarks[0, 1, 3] == rows[0, 7]
    assert rec.landmarks[2, 0, 0] == 0.0


def test_mediapipe_object_array_is_never_unpickled(tmp_path):
    path = tmp_path / "clip.npz"
    meta = np.empty((), dtype=object)
    meta[()] = {"detector": "mediapipe", "trap": _Trap()}
    np.savez(path, landmarks=_rows(3, 60), fps=30, meta=meta)
    with np.load(path, allow_pickle=True) as npz, pytest.raises(RuntimeError, match="unpickled"):
        npz["meta"]  # the trap works: unpickling it raises

    report = import_mediapipe_npz([path], tmp_path / "ds")

    assert report.imported == ["clip"]
    assert read_recording(tmp_path / "ds" / "poses" / "clip.npz").n_frames == 3


def test_mediapipe_missing_fps_is_an_error_unless_given(tmp_path):
    path = tmp_path / "nofps.npz"
    np.savez(path, landmarks=_rows(4, 60))
    with pytest.raises(DataFormatError, match=r"nofps\.npz.*no 'fps'.*--fps"):
        import_mediapipe_npz([path], tmp_path / "ds")
    assert not (tmp_path / "ds" / "poses").exists()

    report = import_mediapipe_npz([path], tmp_path / "ds", fps=50)
    assert report.fps == {"nofps": 50.0}
    assert read_recording(tmp_path / "ds" / "poses" / "nofps.npz").fps == 50.0


def test_mediapipe_file_fps_takes_precedence_over_argument_and_is_noted(tmp_path):
    path = tmp_path / "clip.npz"
    np.savez(path, landmarks=_rows(4, 60), fps=np.array([24.0]))
    report = import_mediapipe_npz([path], tmp_path / "ds", fps=30)
    assert report.fps == {"clip": 24.0}
    assert any("24" in n and "30" in n for n in report.notes)


@pytest.mark.parametrize("shape", [(5, 61), (5, 15, 4), (60,)])
def test_mediapipe_wrong_shape_names_file_shape_and_layouts(tmp_path, shape):
    path = tmp_path / "odd.npz"
    np.savez(path, landmarks=np.ones(shape, dtype=np.float32), fps=30)
    layouts = r".*\(frames, 60\).*\(frames, 132\)"
    expected = re.escape(str(path)) + r".*" + re.escape(str(shape)) + layouts
    with pytest.raises(DataFormatError, match=expected):
        import_mediapipe_npz([path], tmp_path / "ds")


def test_mediapipe_full_33_landmark_rows(tmp_path):
    rows = _rows(5, 132, seed=1)
    rows[0] = 0.0
    path = tmp_path / "full.npz"
    np.savez(path, landmarks=rows.astype(np.float64), fps=30.0)

    report = import_mediapipe_npz(path, tmp_path / "ds")

    assert report.missing_frames == {"full": 1}
    assert "33 landmarks" in report.layout["full"]
    rec = read_recording(tmp_path / "ds" / "poses" / "full.npz")
    assert rec.landmarks.shape == (5, 33, 4)
    assert rec.landmark_names == MEDIAPIPE_LANDMARKS
    np.testing.assert_array_equal(rec.landmarks[1:], rows[1:].reshape(4, 33, 4))
    assert rec.landmarks[3, 16, 1] == rows[3, 16 * 4 + 1]  # right_wrist y


def test_mediapipe_folder_reports_skipped_entries(tmp_path):
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    np.savez(src / "a.npz", landmarks=_rows(3, 60), fps=30)
    np.savez(src / "empty.npz", landmarks=np.zeros((0, 60), dtype=np.float32), fps=30)
    (src / "notes.txt").write_text("hello")

    report = import_mediapipe_npz(src, tmp_path / "ds")

    assert report.imported == ["a"]
    reasons = {s.source.rsplit("/", 1)[-1]: s.reason for s in report.skipped}
    assert reasons == {
        "empty.npz": "no frames",
        "nested": "a folder (not searched; pass it to import its files)",
        "notes.txt": "not a .npz file",
    }
    assert "notes.txt" in report.format()
    assert sorted(p.name for p in (tmp_path / "ds" / "poses").iterdir()) == ["a.npz"]


def test_mediapipe_bad_file_in_batch_writes_nothing(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    np.savez(src / "a_good.npz", landmarks=_rows(3, 60), fps=30)
    np.savez(src / "b_bad.npz", landmarks=_rows(3, 59), fps=30)
    with pytest.raises(DataFormatError, match=r"b_bad\.npz.*\(3, 59\)"):
        import_mediapipe_npz(src, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_mediapipe_mixed_layouts_are_rejected(tmp_path):
    np.savez(tmp_path / "a.npz", landmarks=_rows(3, 60), fps=30)
    np.savez(tmp_path / "b.npz", landmarks=_rows(3, 132), fps=30)
    with pytest.raises(DataFormatError, match=r"b\.npz.*layout.*differs from a\.npz"):
        import_mediapipe_npz(tmp_path, tmp_path / "ds")


def test_mediapipe_missing_or_pickled_landmarks(tmp_path):
    np.savez(tmp_path / "nolm.npz", keypoints=_rows(3, 60), fps=30)
    with pytest.raises(DataFormatError, match=r"nolm\.npz.*no 'landmarks'.*keypoints"):
        import_mediapipe_npz([tmp_path / "nolm.npz"], tmp_path / "ds")
    np.savez(tmp_path / "objlm.npz", landmarks=np.array([_Trap()], dtype=object), fps=30)
    with pytest.raises(DataFormatError, match=r"objlm\.npz.*object \(pickled\) array"):
        import_mediapipe_npz([tmp_path / "objlm.npz"], tmp_path / "ds")


def test_duplicate_video_ids_and_overwriting_the_source_are_rejected(tmp_path):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        np.savez(tmp_path / folder / "clip.npz", landmarks=_rows(3, 60), fps=30)
    with pytest.raises(DataFormatError, match=r"same video id 'clip'"):
        import_mediapipe_npz([tmp_path / "x" / "clip.npz", tmp_path / "y" / "clip.npz"], tmp_path)
    # importing <dataset>/poses into <dataset> itself would replace the source files
    (tmp_path / "ds" / "poses").mkdir(parents=True)
    np.savez(tmp_path / "ds" / "poses" / "raw.npz", landmarks=_rows(3, 60), fps=30)
    with pytest.raises(DataFormatError, match=r"raw\.npz.*would replace the source"):
        import_mediapipe_npz(tmp_path / "ds" / "poses", tmp_path / "ds")


def test_bad_fps_argument(tmp_path):
    np.savez(tmp_path / "a.npz", landmarks=_rows(3, 60))
    with pytest.raises(DataFormatError, match="fps: is -1; it must be a positive number"):
        import_mediapipe_npz(tmp_path, tmp_path / "ds", fps=-1)


# --------------------------------------------------------------------------- keypoint CSV

CSV_TEXT = """\
frame,left_wrist_x,left_wrist_y,left_wrist_visibility,nose_x,nose_y,nose_visibility,fps
0,0.5,0.25,0.9,0.1,0.2,1.0,25
1,0.75,,0.8,0.15,0.2,0.99,25
2,,,,,,,25
3,1e-1, 0.5 ,0.7,0.2,0.3,0.5,25
"""


def test_csv_round_trip_channels_empty_cells_and_fps_column(tmp_path):
    (tmp_path / "rally.csv").write_text(CSV_TEXT)

    report = import_keypoint_csv(tmp_path / "rally.csv", tmp_path / "ds", fps=None)

    assert report.imported == ["rally"]
    assert report.frames == {"rally": 4}
    assert report.missing_frames == {"rally": 1}
    assert report.fps == {"rally": 25.0}
    rec = read_recording(tmp_path / "ds" / "poses" / "rally.npz")
    assert rec.landmark_names == ("left_wrist", "nose")
    assert rec.channel_names == ("x", "y", "visibility")
    assert rec.fps == 25.0
    expected = np.array(
        [
            [[0.5, 0.25, 0.9], [0.1, 0.2, 1.0]],
            [[0.75, np.nan, 0.8], [0.15, 0.2, 0.99]],
            [[np.nan] * 3, [np.nan] * 3],
            [[0.1, 0.5, 0.7], [0.2, 0.3, 0.5]],
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(rec.landmarks, expected)


def test_csv_channel_order_may_differ_between_landmarks(tmp_path):
    (tmp_path / "v.csv").write_text("a_x,a_y,b_y,b_x\n1,2,3,4\n")
    import_keypoint_csv([tmp_path / "v.csv"], tmp_path / "ds", fps=30)
    rec = read_recording(tmp_path / "ds" / "poses" / "v.npz")
    assert rec.landmark_names == ("a", "b")
    assert rec.channel_names == ("x", "y")
    np.testing.assert_array_equal(rec.landmarks[0], [[1, 2], [4, 3]])


def test_csv_fps_argument_wins_and_is_needed_without_fps_column(tmp_path):
    (tmp_path / "v.csv").write_text("a_x,a_y\n1,2\n3,4\n")
    with pytest.raises(DataFormatError, match=r"v\.csv.*no 'fps' column.*--fps"):
        import_keypoint_csv(tmp_path, tmp_path / "ds", fps=None)
    assert import_keypoint_csv(tmp_path, tmp_path / "ds", fps=60).fps == {"v": 60.0}

    (tmp_path / "w.csv").write_text(CSV_TEXT)
    report = import_keypoint_csv([tmp_path / "w.csv"], tmp_path / "ds", fps=50)
    assert report.fps == {"w": 50.0}
    assert any("50" in n and "25" in n for n in report.notes)


def test_csv_mismatched_channel_sets_name_the_landmark(tmp_path):
    (tmp_path / "v.csv").write_text("nose_x,nose_y,nose_z,left_wrist_x,left_wrist_y\n1,2,3,4,5\n")
    with pytest.raises(DataFormatError, match=r"v\.csv.*'left_wrist' has no 'z' channel"):
        import_keypoint_csv(tmp_path, tmp_path / "ds", fps=30)


def test_csv_non_numeric_names_file_column_and_row(tmp_path):
    (tmp_path / "v.csv").write_text("a_x,a_y\n1,2\n3,4\n5,oops\n")
    with pytest.raises(DataFormatError, match=r"v\.csv.*column 'a_y', row 3 \(line 4\): 'oops'"):
        import_keypoint_csv(tmp_path, tmp_path / "ds", fps=30)
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a_x,a_y\n1,2\n3\n", r"row 2 \(line 3\) has 1 fields; the header has 2"),
        ("a_x,time\n1,2\n", r"column 'time' is not named <landmark>_<channel>"),
        ("a_x,a_x\n1,2\n", r"\['a_x'\] appear more than once"),
        ("a_x;a_y\n1;2\n", r"separated by ';'"),
        ("a_x,a_y\n1,inf\n", r"column 'a_y', row 1 .*'inf' is not a finite number"),
    ],
)
def test_csv_malformed_files(tmp_path, text, match):
    (tmp_path / "v.csv").write_text(text)
    with pytest.raises(DataFormatError, match=r"v\.csv.*" + match):
        import_keypoint_csv(tmp_path, tmp_path / "ds", fps=30)


def test_csv_frame_column_must_increase_and_gaps_become_missing_frames(tmp_path):
    (tmp_path / "v.csv").write_text("frame,a_x\n0,1\n2,2\n2,3\n")
    with pytest.raises(DataFormatError, match=r"'frame' must increase; row 3 .*frame 2 after 2"):
        import_keypoint_csv(tmp_path, tmp_path / "ds", fps=30)

    (tmp_path / "v.csv").write_text("frame,a_x\n0,1\n3,2\n4,3\n")
    report = import_keypoint_csv(tmp_path, tmp_path / "ds", fps=30)
    assert report.frames == {"v": 5}
    assert report.missing_frames == {"v": 2}
    assert any("skips 2 frame(s)" in n for n in report.notes)
    rec = read_recording(tmp_path / "ds" / "poses" / "v.npz")
    np.testing.assert_array_equal(rec.landmarks[:, 0, 0], [1, np.nan, np.nan, 2, 3])


def test_csv_fps_column_must_be_constant(tmp_path):
    (tmp_path / "v.csv").write_text("a_x,fps\n1,25\n2,\n3,30\n")
    with pytest.raises(DataFormatError, match=r"'fps' is not constant: 25 first, 30 at row 3"):
        import_keypoint_csv(tmp_path, tmp_path / "ds", fps=None)


def test_csv_empty_file_is_skipped_with_reason(tmp_path):
    (tmp_path / "a.csv").write_text("a_x,a_y\n1,2\n")
    (tmp_path / "b.csv").write_text("")
    (tmp_path / "c.csv").write_text("a_x,a_y\n")
    report = import_keypoint_csv(tmp_path, tmp_path / "ds", fps=30)
    assert report.imported == ["a"]
    assert [(s.source.rsplit("/", 1)[-1], s.reason) for s in report.skipped] == [
        ("b.csv", "empty file"),
        ("c.csv", "no frames (header only)"),
    ]


# --------------------------------------------------------------------------- datasets, annotations


def test_imported_mediapipe_dataset_loads_with_annotations_csv(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i, vid in enumerate(("clip1", "clip2")):
        rows = _rows(40, 60, seed=i)
        rows[5] = 0.0
        np.savez(src / f"{vid}.npz", landmarks=rows, fps=30, meta=np.array([{}], dtype=object))
    ann = _annotations([("clip1", 0, 10, "forehand"), ("clip2", 5, 20, "serve")])
    write_annotations_csv(ann, tmp_path / "my_annotations.csv")
    ds_dir = tmp_path / "ds"

    import_mediapipe_npz(src, ds_dir)
    copied = copy_annotations(tmp_path / "my_annotations.csv", ds_dir)

    assert copied.written == [ds_dir / "annotations.csv"]
    assert copied.strokes == 2
    ds = load_dataset(ds_dir)
    assert ds.video_ids == ("clip1", "clip2")
    assert ds.classes == ("forehand", "serve")
    assert ds.summary()["missing_frames"] == 2


def test_imported_csv_dataset_loads_with_labelstudio_export(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for vid in ("m1", "m2"):
        lines = ["a_x,a_y,b_x,b_y"] + [f"{i},{i + 1},{i + 2},{i + 3}" for i in range(30)]
        (src / f"{vid}.csv").write_text("\n".join(lines) + "\n")
    tasks = [
        labelstudio_task("/data/upload/1/m1.mp4", _annotations([("m1", 0, 10, "volley")]), 1),
        labelstudio_task("/data/upload/1/m2.mp4", _annotations([("m2", 3, 9, "serve")]), 2),
    ]
    export = tmp_path / "exports"
    export.mkdir()
    (export / "project.json").write_text(json.dumps(tasks))
    (export / "readme.md").write_text("not an export")
    ds_dir = tmp_path / "ds"

    import_keypoint_csv(src, ds_dir, fps=30)
    copied = copy_annotations(export, ds_dir)

    assert copied.written == [ds_dir / "labelstudio" / "project.json"]
    assert copied.strokes == 2
    assert [s.reason for s in copied.skipped] == ["not a Label Studio .json export"]
    ds = load_dataset(ds_dir)
    assert ds.video_ids == ("m1", "m2")
    assert ds.classes == ("serve", "volley")


def test_copy_annotations_validates_before_copying(tmp_path):
    bad = tmp_path / "ann.csv"
    bad.write_text("video,start,end,label\nclip,0,5,serve\n")
    with pytest.raises(DataFormatError, match=r"ann\.csv.*missing column"):
        copy_annotations(bad, tmp_path / "ds")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(DataFormatError, match=r"broken\.json.*not valid JSON"):
        copy_annotations(tmp_path / "broken.json", tmp_path / "ds")
    (tmp_path / "ann.txt").write_text("")
    with pytest.raises(DataFormatError, match=r"ann\.txt.*extension '\.txt'"):
        copy_annotations(tmp_path / "ann.txt", tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_copy_annotations_does_not_replace_a_different_file_unless_asked(tmp_path):
    ds_dir = tmp_path / "ds"
    first = write_annotations_csv(_annotations([("a", 0, 5, "serve")]), tmp_path / "first.csv")
    second = write_annotations_csv(_annotations([("a", 0, 6, "lob")]), tmp_path / "second.csv")
    copy_annotations(first, ds_dir)
    copy_annotations(first, ds_dir)  # the same content again is fine
    with pytest.raises(DataFormatError, match=r"annotations\.csv.*already exists.*overwrite"):
        copy_annotations(second, ds_dir)
    assert (ds_dir / "annotations.csv").read_bytes() == first.read_bytes()
    copy_annotations(second, ds_dir, overwrite=True)
    assert (ds_dir / "annotations.csv").read_bytes() == second.read_bytes()


# --------------------------------------------------------------------------- videos.csv


def _mediapipe_sources(tmp_path, ids=("clip1", "clip2")):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    for i, vid in enumerate(ids):
        np.savez(src / f"{vid}.npz", landmarks=_rows(40, 60, seed=i), fps=30)
    return src


def _videos_file(tmp_path, text, name="meta.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_mediapipe_with_videos_copies_the_validated_file(tmp_path):
    src = _mediapipe_sources(tmp_path)
    videos = _videos_file(tmp_path, "video_id,player,handedness,session\nclip1,ana,Left,day_1\n")
    ds_dir = tmp_path / "ds"

    report = import_mediapipe_npz(src, ds_dir, videos=videos)

    assert (ds_dir / VIDEOS_CSV).read_bytes() == videos.read_bytes()  # an unchanged copy
    assert report.videos_csv == ds_dir / VIDEOS_CSV and report.videos_described == 1
    assert f"Videos file: {ds_dir / VIDEOS_CSV} (1 video(s) described)" in report.format()
    assert any("no line for 1 video(s) (clip2)" in n for n in report.notes)
    copy_annotations(
        write_annotations_csv(_annotations([("clip1", 0, 10, "serve")]), tmp_path / "a.csv"),
        ds_dir,
    )
    assert load_dataset(ds_dir).handedness == {"clip1": "left", "clip2": None}


def test_import_csv_with_videos_accepts_recordings_already_in_the_dataset(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for vid in ("m1", "m2"):
        (src / f"{vid}.csv").write_text("a_x,a_y\n0,1\n2,3\n")
    ds_dir = tmp_path / "ds"
    import_keypoint_csv(src / "m1.csv", ds_dir, fps=30)
    videos = _videos_file(tmp_path, "video_id,player\nm1,ana\nm2,bruno\n")

    report = import_keypoint_csv(src / "m2.csv", ds_dir, fps=30, videos=videos)

    assert report.imported == ["m2"] and report.videos_described == 2
    assert (ds_dir / VIDEOS_CSV).read_bytes() == videos.read_bytes()


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "video_id,player\nclip1,ana\nclip9,bruno\n",
            r"line 3: video id 'clip9' has no recording in poses/ "
            r"\(recordings: \['clip1', 'clip2'\]\)",
        ),
        ("video_id,handedness\nclip1,southpaw\n", r"line 2: handedness of clip1 is 'southpaw'"),
        ("player\nana\n", r"line 1: no 'video_id' column"),
    ],
)
def test_import_with_a_bad_videos_file_writes_nothing(tmp_path, text, match):
    src = _mediapipe_sources(tmp_path)
    videos = _videos_file(tmp_path, text)
    with pytest.raises(DataFormatError, match=re.escape(str(videos)) + ": " + match):
        import_mediapipe_npz(src, tmp_path / "ds", videos=videos)
    assert not (tmp_path / "ds").exists()


def test_import_with_a_missing_videos_file_writes_nothing(tmp_path):
    src = _mediapipe_sources(tmp_path)
    with pytest.raises(DataFormatError, match=r"nope\.csv: does not exist"):
        import_mediapipe_npz(src, tmp_path / "ds", videos=tmp_path / "nope.csv")
    assert not (tmp_path / "ds").exists()


def test_import_does_not_replace_a_different_videos_csv_unless_asked(tmp_path):
    src = _mediapipe_sources(tmp_path)
    ds_dir = tmp_path / "ds"
    first = _videos_file(tmp_path, "video_id,player\nclip1,ana\n", "first.csv")
    second = _videos_file(tmp_path, "video_id,player\nclip1,rita\n", "second.csv")
    import_mediapipe_npz(src, ds_dir, videos=first)
    import_mediapipe_npz(src, ds_dir, videos=first)  # the same content again is fine
    stamp = (ds_dir / "poses" / "clip1.npz").stat().st_mtime_ns
    with pytest.raises(DataFormatError, match=r"videos\.csv: already exists.*overwrite"):
        import_mediapipe_npz(src, ds_dir, videos=second)
    assert (ds_dir / VIDEOS_CSV).read_bytes() == first.read_bytes()
    assert (ds_dir / "poses" / "clip1.npz").stat().st_mtime_ns == stamp  # nothing written
    import_mediapipe_npz(src, ds_dir, videos=second, overwrite=True)
    assert (ds_dir / VIDEOS_CSV).read_bytes() == second.read_bytes()
