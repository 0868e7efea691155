"""Paint-bucket scores of a predicted colour frame against ground truth
(see shared/docs/shot-format.md).

Segments are the connected components of the ground-truth label map (label
0, the lines, excluded). A segment is correct when the majority predicted
colour over its pixels equals its true colour (the majority ground-truth
colour, which is flat in generated data). Unpainted pixels (alpha 0) never
equal a true colour.

    segment_accuracy      correct segments / segments
    segment_accuracy_10   the same over segments larger than 10 px
    pixel_accuracy        pixels of correct segments / all segment pixels
    pixel_accuracy_fg     the same without the background (label 1, the
                          generators' convention)

Frame scores are averaged per shot over the frames that are not keys, then
over shots (`mean_scores` does either step).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from skimage.measure import label as label_components

METRICS = (
    "segment_accuracy",
    "segment_accuracy_10",
    "pixel_accuracy",
    "pixel_accuracy_fg",
)
BACKGROUND_LABEL = 1


def packed_colors(rgba: np.ndarray) -> np.ndarray:
    """uint32 [H x W] per RGBA pixel; every fully transparent pixel is one value."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    packed = rgba.view(np.uint32).reshape(rgba.shape[:2]).copy()
    packed[rgba[:, :, 3] == 0] = 0
    return packed


def _majority(
    segment: np.ndarray, value: np.ndarray, n_segments: int, n_values: int
) -> np.ndarray:
    counts = np.bincount(segment * n_values + value, minlength=n_segments * n_values)
    return counts.reshape(n_segments, n_values).argmax(axis=1)


def frame_scores(
    predicted: np.ndarray, truth: np.ndarray, labels: np.ndarray
) -> dict[str, float]:
    """Scores of one frame: predicted and true colours uint8 RGBA [H x W x 4],
    ground-truth labels [H x W] (0 = line)."""
    components = label_components(labels, background=0, connectivity=1)
    inside = components > 0
    segment = components[inside].astype(np.int64) - 1
    n_segments = int(components.max())
    if n_segments == 0:
        return dict.fromkeys(METRICS, float("nan"))
    pred = packed_colors(predicted)[inside]
    true = packed_colors(truth)[inside]
    values, inverse = np.unique(np.concatenate([pred, true]), return_inverse=True)
    pred_i, true_i = inverse[: len(pred)], inverse[len(pred) :]
    correct = _majority(segment, pred_i, n_segments, len(values)) == _majority(
        segment, true_i, n_segments, len(values)
    )
    # A transparent "true colour" is no colour: such a segment cannot be right.
    correct &= values[_majority(segment, true_i, n_segments, len(values))] != 0
    area = np.bincount(segment, minlength=n_segments)
    background = np.zeros(n_segments, bool)
    background[segment[labels[inside] == BACKGROUND_LABEL]] = True
    fg = ~background
    big = area > 10
    return {
        "segment_accuracy": float(correct.mean()),
        "segment_accuracy_10": float(correct[big].mean())
        if big.any()
        else float("nan"),
        "pixel_accuracy": float(area[correct].sum() / area.sum()),
        "pixel_accuracy_fg": float(area[correct & fg].sum() / area[fg].sum())
        if fg.any()
        else float("nan"),
    }


def nan_mean(values: Iterable[float]) -> float:
    """Mean of the values that are not NaN; NaN when none is (without
    numpy's warning)."""
    kept = [v for v in values if not np.isnan(v)]
    return float(np.mean(kept)) if kept else float("nan")


def mean_scores(scores: Iterable[dict[str, float]]) -> dict[str, float]:
    """Metric-wise mean, ignoring NaN (a frame without a metric's segments)."""
    scores = list(scores)
    return {k: nan_mean(s[k] for s in scores) for k in METRICS}
