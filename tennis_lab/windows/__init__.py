"""From pose recordings to labelled windows: arrays in, arrays out.

Steps, in order, for each recording:

1. missing frames (NaN) are filled by linear interpolation in time
   (``missing_frames="interpolate"``, the default) or with zeros (``"zero"``);
2. recordings of left-handed players are mirrored into a right-handed frame
   (``mirror_left_handed``, the default; see :func:`mirror_landmarks`);
3. optionally, body-centred normalisation: x/y/z are centred on the hip midpoint
   of each frame and divided by the recording's median torso length;
4. with ``enable_fps_scaling`` the recording is resampled to ``reference_fps`` so
   that a window of ``window_size`` frames lasts the same time in every video;
5. sliding windows of ``window_size`` frames every ``stride = window_size - overlap``
   frames (vectorised: no Python loop over windows; a window is an offset into
   one buffer of frames, copied out only when a batch is needed);
6. each window is labelled (see :func:`label_windows`).

Labelling rule: a stroke *covers* a window by the number of frames they share,
divided by the shorter of the two (the window, or the stroke when the stroke is
shorter). A window takes the label of the stroke that covers it most when that
coverage is at least ``min_stroke_coverage``. A window no stroke touches is *idle*
(kept as class ``idle`` with ``include_idle``, else dropped); a window touched but
covered less than the threshold is ambiguous and dropped; a window covered equally
by strokes of two different classes is *tied* and dropped (never given the earlier
stroke's label). Every drop is counted.

Besides the labelled training windows, a :class:`WindowSet` keeps every annotated
stroke on the windowing timeline and can cut the *scoring windows* of any video
(all complete windows, plus one aligned to the video's end), so that evaluation can
score every stroke whatever the windowing (see :mod:`tennis_lab.evaluation`).

:mod:`~tennis_lab.windows.frames` prepares one recording's frames (steps 1-4);
:mod:`~tennis_lab.windows.cutting` cuts and labels the windows (steps 5-6) into a
:class:`WindowSet`.

This package imports nothing else of the package but its parameters
(:mod:`tennis_lab.params`, the data group) and errors: ``make_windows`` takes any object
with ``recordings`` (video id -> object with landmarks, fps, landmark_names,
channel_names) and ``annotations`` (DataFrame with video_id, start_frame,
end_frame, label), such as :class:`tennis_lab.poses.PoseDataset`; per-video
``handedness`` (video id -> "left"/"right"/None) and ``video_metadata()`` (video id
-> player, handedness, session) are used when the object has them.
"""

from tennis_lab.windows.cutting import (
    AMBIGUOUS_CODE,
    DATA_PARAMS,
    IDLE,
    IDLE_CODE,
    PREPROCESSING_VERSION,
    TIED_CODE,
    WindowSet,
    check_data_params,
    check_window_params,
    class_weights,
    covering_starts,
    cut_windows,
    label_windows,
    make_windows,
    sliding_windows,
    stroke_frames,
    window_starts,
)
from tennis_lab.windows.frames import (
    IMAGE_CENTRE_X,
    MISSING_FRAME_METHODS,
    NORMALIZATIONS,
    SPATIAL_CHANNELS,
    WindowingError,
    fill_missing,
    mirror_landmarks,
    mirror_pairs,
    normalize_body,
    prepare_frames,
    resample,
    resampled_length,
)

__all__ = [
    "AMBIGUOUS_CODE", "DATA_PARAMS", "IDLE", "IDLE_CODE", "IMAGE_CENTRE_X",
    "MISSING_FRAME_METHODS", "NORMALIZATIONS", "PREPROCESSING_VERSION", "SPATIAL_CHANNELS",
    "TIED_CODE", "WindowSet", "WindowingError", "check_data_params", "check_window_params",
    "class_weights", "covering_starts", "cut_windows", "fill_missing", "label_windows",
    "make_windows", "mirror_landmarks", "mirror_pairs", "normalize_body", "prepare_frames",
    "resample", "resampled_length", "sliding_windows", "stroke_frames", "window_starts",
]  # fmt: skip
