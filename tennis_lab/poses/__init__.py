"""Pose recordings and stroke annotations: read, write, validate.

A dataset is a folder (see ``docs/data-format.md``)::

    poses/<video_id>.npz      landmarks (frames, landmarks, channels) float32, fps,
                              landmark_names, channel_names; NaN = no pose in that frame
    annotations.csv           video_id, start_frame, end_frame, label (end exclusive)
    labelstudio/*.json        Label Studio video timeline exports (optional, alternative)
    dataset.yaml              class_map, ignore_labels, description (optional)
    videos.csv                video_id, player, handedness, session, ... (optional)

Everything is validated when loaded; a problem raises :class:`DataFormatError`
naming the file, what is wrong and how to fix it. What a loader skips on purpose
(ignored labels, Label Studio results of other types, files that are not
recordings) is counted in :attr:`PoseDataset.skipped`, never dropped silently.

Modules: ``layout`` (file and column names, MediaPipe's landmarks,
:class:`DataFormatError`), ``recordings``, ``annotations`` (``annotations.csv``,
``dataset.yaml``), ``labelstudio``, ``videos`` (``videos.csv``) and ``dataset``
(:func:`load_dataset`, :class:`PoseDataset`). Every public name of theirs is
importable from ``tennis_lab.poses``.
"""

from tennis_lab.poses.annotations import (
    DatasetConfig,
    Skipped,
    read_annotations_csv,
    read_dataset_config,
    write_annotations_csv,
)
from tennis_lab.poses.dataset import (
    PoseDataset,
    format_summary,
    load_dataset,
)
from tennis_lab.poses.labelstudio import (
    labelstudio_task,
    read_labelstudio,
    video_id_from_path,
)
from tennis_lab.poses.layout import (
    ANNOTATION_COLUMNS,
    ANNOTATIONS_CSV,
    DATASET_YAML,
    HANDEDNESS,
    LABELSTUDIO_DIR,
    MEDIAPIPE_CHANNELS,
    MEDIAPIPE_LANDMARKS,
    POSES_DIR,
    VIDEO_COLUMNS,
    VIDEOS_CSV,
    DataFormatError,
)
from tennis_lab.poses.recordings import (
    Recording,
    read_recording,
    validate_recording,
    write_recording,
)
from tennis_lab.poses.videos import (
    read_videos_csv,
)

__all__ = [
    "MEDIAPIPE_LANDMARKS",
    "MEDIAPIPE_CHANNELS",
    "ANNOTATION_COLUMNS",
    "POSES_DIR",
    "ANNOTATIONS_CSV",
    "LABELSTUDIO_DIR",
    "DATASET_YAML",
    "VIDEOS_CSV",
    "HANDEDNESS",
    "VIDEO_COLUMNS",
    "DataFormatError",
    "Recording",
    "Skipped",
    "DatasetConfig",
    "PoseDataset",
    "validate_recording",
    "write_recording",
    "read_recording",
    "read_annotations_csv",
    "write_annotations_csv",
    "video_id_from_path",
    "read_labelstudio",
    "labelstudio_task",
    "read_dataset_config",
    "read_videos_csv",
    "load_dataset",
    "format_summary",
]
