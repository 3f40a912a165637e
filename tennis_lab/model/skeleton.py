"""The landmark graph: skeleton edges found by landmark NAME, their normalised adjacency,
and a parent for each landmark (for bone vectors).

Two layouts are known: MediaPipe Pose's 33 landmarks (its 35 pose connections) and the
COCO-17 / MoveNet names (nose, left_eye, ..., right_ankle; its 19 skeleton edges). A
layout may hold any subset of either, in any order: :func:`skeleton_edges` takes the
known edge set with the most edges both of whose ends the layout names. Names match
case-insensitively, with spaces and hyphens read as underscores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tennis_lab.model.checks import ModelParamError


def _sides(*pairs: tuple[str, str]) -> list[tuple[str, str]]:
    """Each ``left_`` edge and its ``right_`` mirror."""
    out = []
    for a, b in pairs:
        out.append((a, b))
        out.append((a.replace("left_", "right_"), b.replace("left_", "right_")))
    return out


MEDIAPIPE_EDGES: tuple[tuple[str, str], ...] = (
    *_sides(("nose", "left_eye_inner"), ("left_eye_inner", "left_eye"),
            ("left_eye", "left_eye_outer"), ("left_eye_outer", "left_ear")),
    ("mouth_left", "mouth_right"),
    ("left_shoulder", "right_shoulder"),
    *_sides(("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
            ("left_wrist", "left_pinky"), ("left_wrist", "left_index"),
            ("left_wrist", "left_thumb"), ("left_pinky", "left_index"),
            ("left_shoulder", "left_hip")),
    ("left_hip", "right_hip"),
    *_sides(("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("left_ankle", "left_heel"),
            ("left_heel", "left_foot_index"), ("left_ankle", "left_foot_index")),
)  # fmt: skip

COCO_EDGES: tuple[tuple[str, str], ...] = (
    *_sides(("left_ankle", "left_knee"), ("left_knee", "left_hip"),
            ("left_hip", "left_shoulder"), ("left_shoulder", "left_elbow"),
            ("left_elbow", "left_wrist"), ("nose", "left_eye"), ("left_eye", "left_ear"),
            ("left_ear", "left_shoulder")),
    ("left_hip", "right_hip"),
    ("left_shoulder", "right_shoulder"),
    ("left_eye", "right_eye"),
)  # fmt: skip

KNOWN_EDGES: dict[str, tuple[tuple[str, str], ...]] = {
    "mediapipe": MEDIAPIPE_EDGES,
    "coco": COCO_EDGES,
}


def _norm(name: str) -> str:
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def skeleton_edges(landmark_names: Sequence[str]) -> list[tuple[int, int]]:
    """The skeleton edges of a layout, as (i, j) landmark indices, i < j, sorted.

    Empty when the names give no known edge (the caller decides whether that is an error).
    """
    index = {_norm(n): i for i, n in enumerate(landmark_names)}
    best: list[tuple[int, int]] = []
    for edges in KNOWN_EDGES.values():
        found = sorted(
            {tuple(sorted((index[a], index[b]))) for a, b in edges if a in index and b in index}
        )
        if len(found) > len(best):
            best = found
    return best


def required_edges(landmark_names: Sequence[str] | None, why: str) -> list[tuple[int, int]]:
    """:func:`skeleton_edges`, or a :class:`ModelParamError` (``why`` says who needs them)."""
    edges = skeleton_edges(landmark_names or ())
    if not edges:
        shown = list(landmark_names or ())[:6]
        raise ModelParamError(
            f"{why} needs the skeleton's edges, but the landmark names {shown}"
            f"{' ...' if len(landmark_names or ()) > 6 else ''} give none: the known layouts "
            "are MediaPipe Pose's 33 landmarks and COCO-17 / MoveNet names (nose, left_eye, "
            "..., right_ankle).",
            key="landmark_names",
            value=shown,
            fix="name the landmarks as MediaPipe or COCO does (dataset.yaml / the importer), "
            "or choose another model_family and features='positions' or "
            "'positions+velocity'.",
        )
    return edges


def normalized_adjacency(n: int, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """D^-1/2 (A + I) D^-1/2 of ``n`` landmarks: symmetric, float32, (n, n)."""
    a = np.eye(n, dtype=np.float64)
    for i, j in edges:
        a[i, j] = a[j, i] = 1.0
    d = 1.0 / np.sqrt(a.sum(axis=1))
    return (a * d[:, None] * d[None, :]).astype(np.float32)


def parents(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """A parent for each landmark along the skeleton (breadth first from the lowest index of
    each connected part); a root, or a landmark on no edge, is its own parent."""
    neighbours: dict[int, list[int]] = {i: [] for i in range(n)}
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)
    parent = list(range(n))
    seen: set[int] = set()
    for root in range(n):
        if root in seen:
            continue
        seen.add(root)
        queue = [root]
        while queue:
            node = queue.pop(0)
            for nxt in sorted(neighbours[node]):
                if nxt not in seen:
                    seen.add(nxt)
                    parent[nxt] = node
                    queue.append(nxt)
    return parent
