"""The dataset folder's names: its files and columns, MediaPipe's landmark layout, and
:class:`DataFormatError`, raised for any malformed dataset file."""

from __future__ import annotations

from pathlib import Path

from tennis_lab.errors import TennisLabError

# MediaPipe Pose's 33 landmarks, in its index order.
MEDIAPIPE_LANDMARKS: tuple[str, ...] = (
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear",
    "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_pinky", "right_pinky",
    "left_index", "right_index",
    "left_thumb", "right_thumb",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)  # fmt: skip
MEDIAPIPE_CHANNELS: tuple[str, ...] = ("x", "y", "z", "visibility")

ANNOTATION_COLUMNS: tuple[str, ...] = ("video_id", "start_frame", "end_frame", "label")
POSES_DIR = "poses"
ANNOTATIONS_CSV = "annotations.csv"
LABELSTUDIO_DIR = "labelstudio"
DATASET_YAML = "dataset.yaml"
VIDEOS_CSV = "videos.csv"
# Values of videos.csv's handedness column (matched ignoring case and surrounding spaces).
HANDEDNESS: tuple[str, ...] = ("left", "right")
# The columns of videos.csv the package reads; any other column is kept as metadata.
VIDEO_COLUMNS: tuple[str, ...] = ("player", "handedness", "session")


class DataFormatError(TennisLabError, ValueError):
    """A dataset file is missing or malformed.

    Attributes
    ----------
    path : str
        The file or folder at fault.
    problem : str
        What is wrong with it.
    fix : str or None
        What to change.
    """

    def __init__(self, path: str | Path, problem: str, fix: str | None = None):
        super().__init__(f"{path}: {problem}", fix=fix, path=str(path))
        self.problem = problem
