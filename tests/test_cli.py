"""Tests of the tennis-lab command line (data commands), run in-process and as a subprocess."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from tennis_lab.cli import main
from tennis_lab.importers import MEDIAPIPE_SUBSET_INDICES


def test_data_demo_writes_a_dataset_and_prints_its_summary(tmp_path, capsys):
    root = tmp_path / "demo"
    args = ["data", "demo", str(root), "--players", "3", "--videos", "1", "--seconds", "20"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert len(list((root / "poses").glob("*.npz"))) == 3
    assert "Videos:      3" in out and "Strokes:" in out and "result of type 'choices'" in out


def test_data_demo_with_bad_settings_is_an_error_line_and_exit_status_2(tmp_path, capsys):
    root = tmp_path / "demo"
    assert main(["data", "demo", str(root), "--seconds", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: demo dataset: seconds_per_video (--seconds) must be at least 10")
    assert "Traceback" not in err and not root.exists()
    assert main(["data", "demo", str(root), "--players", "0"]) == 2
    assert "error: demo dataset: n_players (--players)" in capsys.readouterr().err
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["data", "demo", str(a_file), "--players", "1", "--seconds", "10"]) == 2
    assert "is a file; the demo needs a folder" in capsys.readouterr().err


def test_data_summary_reports_a_bad_dataset_with_the_file_and_exit_status_2(tmp_path, capsys):
    root = tmp_path / "ds"
    main(["data", "demo", str(root), "--players", "3", "--videos", "1", "--seconds", "20"])
    capsys.readouterr()
    pd.DataFrame(
        [("nobody_01", 0, 10, "Fronthand")],
        columns=["video_id", "start_frame", "end_frame", "label"],
    ).to_csv(root / "annotations.csv", index=False)
    assert main(["data", "summary", str(root)]) == 2
    err = capsys.readouterr().err
    assert "annotations.csv" in err and "unknown video id 'nobody_01'" in err


def test_data_summary_of_a_file_says_it_wants_the_folder(tmp_path, capsys):
    root = tmp_path / "ds"
    main(["data", "demo", str(root), "--players", "3", "--videos", "1", "--seconds", "20"])
    capsys.readouterr()
    assert main(["data", "summary", str(root / "videos.csv")]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a dataset folder" in err and str(root) in err


def test_data_summary_warns_about_recordings_without_any_pose(tmp_path, capsys):
    import numpy as np

    from tennis_lab.poses import read_recording, write_recording

    root = tmp_path / "ds"
    main(["data", "demo", str(root), "--players", "3", "--videos", "1", "--seconds", "20"])
    capsys.readouterr()
    path = next((root / "poses").glob("*.npz"))
    rec = read_recording(path)
    rec.landmarks[:] = np.nan
    write_recording(rec, path)
    assert main(["data", "summary", str(root)]) == 0
    captured = capsys.readouterr()
    assert "warning: 1 of 3 recordings" in captured.err and "no pose in any frame" in captured.err
    assert "Videos" in captured.out or "videos" in captured.out


def test_data_import_mediapipe_with_annotations(tmp_path, capsys):
    src = tmp_path / "extracted"
    src.mkdir()
    landmarks = np.random.default_rng(0).random((90, 60)).astype(np.float32)
    landmarks[10:13] = 0.0  # no pose detected
    np.savez(src / "rally_01.npz", landmarks=landmarks, fps=np.float64(30))
    ann = tmp_path / "annotations.csv"
    ann.write_text("video_id,start_frame,end_frame,label\nrally_01,20,50,forehand\n")
    dest = tmp_path / "dataset"
    assert (
        main(["data", "import", "mediapipe", str(src), str(dest), "--annotations", str(ann)]) == 0
    )
    out = capsys.readouterr().out
    assert (dest / "poses" / "rally_01.npz").is_file() and (dest / "annotations.csv").is_file()
    assert "Strokes:     1" in out and "3 without a pose" in out
    assert len(MEDIAPIPE_SUBSET_INDICES) == 15


def test_console_script_and_module_entry_point(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "tennis_lab", "data", "summary", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "dataset folder does not exist" in out.stderr and str(tmp_path / "missing") in out.stderr
    helped = subprocess.run(
        [sys.executable, "-m", "tennis_lab", "--help"], capture_output=True, text=True
    )
    assert helped.returncode == 0 and "data" in helped.stdout


def test_data_import_with_videos_and_summary_show_players_and_handedness(tmp_path, capsys):
    src = tmp_path / "extracted"
    src.mkdir()
    for i, vid in enumerate(("rally_01", "rally_02", "rally_03")):
        landmarks = np.random.default_rng(i).uniform(0.1, 1, (60, 60)).astype(np.float32)
        np.savez(src / f"{vid}.npz", landmarks=landmarks, fps=np.float64(30))
    ann = tmp_path / "annotations.csv"
    ann.write_text("video_id,start_frame,end_frame,label\nrally_01,20,50,forehand\n")
    videos = tmp_path / "my_videos.csv"
    videos.write_text(
        "video_id,player,handedness,session\nrally_01,ana,right,day_1\n"
        "rally_02,bruno,left,day_1\nrally_03,ana,right,day_2\n"
    )
    dest = tmp_path / "dataset"
    args = ["data", "import", "mediapipe", str(src), str(dest), "--annotations", str(ann)]
    assert main([*args, "--videos", str(videos)]) == 0
    out = capsys.readouterr().out
    assert (dest / "videos.csv").read_text() == videos.read_text()
    assert "(3 video(s) described)" in out and "Players:     2 (ana, bruno)" in out

    assert main(["data", "summary", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "Players:     2 (ana, bruno)\n" in out
    assert "Sessions:    2 (day_1, day_2)\n" in out
    assert "Handedness:  2 right, 1 left, 0 unknown (videos)\n" in out

    (dest / "videos.csv").unlink()
    assert main(["data", "summary", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "no videos.csv" in out and "Handedness" not in out


def test_data_import_with_a_bad_videos_file_exits_2_naming_file_and_line(tmp_path, capsys):
    src = tmp_path / "extracted"
    src.mkdir()
    np.savez(src / "rally_01.npz", landmarks=np.ones((30, 60), np.float32), fps=np.float64(30))
    videos = tmp_path / "videos.csv"
    videos.write_text("video_id,handedness\nrally_01,lefty\n")
    dest = tmp_path / "dataset"
    assert main(["data", "import", "mediapipe", str(src), str(dest), "--videos", str(videos)]) == 2
    err = capsys.readouterr().err
    assert f"{videos}: line 2: handedness of rally_01 is 'lefty'" in err
    assert not dest.exists()
