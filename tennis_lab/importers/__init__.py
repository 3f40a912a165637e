"""Convert pose-extraction output into the tennis-lab dataset format.

Each importer writes one ``poses/<video_id>.npz`` per video into a dataset folder
(the format of :mod:`tennis_lab.poses`); the video id is the source file's stem.

- :func:`import_mediapipe_npz`: MediaPipe landmarks saved one row per frame in
  ``.npz`` files (``landmarks`` shaped (frames, 60) or (frames, 132), plus ``fps``).
- :func:`import_keypoint_csv`: one CSV per video, one column per
  ``<landmark>_<channel>``.
- :func:`copy_annotations`: copies validated stroke annotations into the dataset.

Both importers also take ``videos=``, a ``videos.csv`` of per-video metadata
(player, handedness, session), checked against the recordings and copied into
the dataset with them.

Every source is converted and checked before anything is written, so a bad file
leaves the destination untouched. Importers return an :class:`ImportReport`: the
videos imported, their frames and frames without a pose, and every file skipped
with the reason. Source ``.npz`` files are opened with ``allow_pickle=False`` and
only their numeric arrays are read: a pickled object in them is never loaded.

Modules: ``mediapipe_npz``, ``keypoint_csv``, ``annotations`` and ``writing``
(what the importers share).
"""

from tennis_lab.importers.annotations import AnnotationsReport, copy_annotations
from tennis_lab.importers.keypoint_csv import import_keypoint_csv
from tennis_lab.importers.mediapipe_npz import (
    MEDIAPIPE_LAYOUTS,
    MEDIAPIPE_SUBSET_INDICES,
    import_mediapipe_npz,
)
from tennis_lab.importers.writing import ImportReport

__all__ = [
    "MEDIAPIPE_SUBSET_INDICES",
    "MEDIAPIPE_LAYOUTS",
    "AnnotationsReport",
    "ImportReport",
    "copy_annotations",
    "import_keypoint_csv",
    "import_mediapipe_npz",
]
