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
