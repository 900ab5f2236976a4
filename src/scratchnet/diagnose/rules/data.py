"""Data faults, read from the data itself (a DataReport from datacheck.py): inputs on the
wrong scale, one class dominating the labels, labels that disagree with the images.

No setting of the run fixes these: the fix is to the data (Finding.data_fix), which
`diagnose --repair` applies to the arrays in memory and describes for the user's own files.
"""

from __future__ import annotations

from ..findings import Finding
from ..numbers import fmt, is_number, ratio

#: The initialisers and default learning rates assume inputs of order 1 (LeCun et al. 1998,
#: "Efficient BackProp": normalise the inputs). MNIST scaled to [0, 1] has an rms of 0.36;
#: inputs whose rms is more than 30x away from 1 (1.5 decades) are on another scale: every
#: ReLU layer passes the factor on, so the first forward pass and the steps are off by it.
SCALE_LOW, SCALE_HIGH = 1 / 30, 30.0
#: A class with at least 4x the labels of the median class dominates: a network predicting it
#: for every image already scores 4x better on it than on a typical class.
DOMINANCE = 4.0
#: Share of sampled examples whose label differs from the majority label of their k nearest
#: training neighbours (pixels, Euclidean). Clean MNIST: about 3-5%; clean Fashion-MNIST,
#: whose shirts and tops overlap: about 15%. Above 25%, at least every tenth label disagrees
#: with what images like it are called even on a data set as hard as Fashion-MNIST.
NOISY_LABELS = 0.25


def data_scale(records, context) -> Finding | None:
    report = context.data
    rms = getattr(report, "feature_rms", None)
    if not is_number(rms) or SCALE_LOW <= rms <= SCALE_HIGH:
        return None
    too = "large" if rms > SCALE_HIGH else "small"
    peak = getattr(report, "feature_max", None)
    return Finding(
        "data_scale",
        1.0,
        f"the inputs are on the wrong scale: their values are far too {too}",
        f"the network's inputs have an rms of {fmt(rms)} and a largest value of {fmt(peak)}"
        " (MNIST scaled to [0, 1]: rms 0.36, largest 1); initialisers and learning rates "
        "assume inputs of order 1",
        "no setting fixes this: scale the images to [0, 1] (uint8 pixels 0..255, which "
        "scratchnet divides by 255, or floats already in [0, 1]); --repair rescales them",
        data_fix="rescale",
        stage=0,
    )


def class_imbalance(records, context) -> Finding | None:
    report = context.data
    counts = list(getattr(report, "class_counts", None) or [])
    if len(counts) < 2 or sum(counts) == 0:
        return None
    ordered = sorted(counts)
    typical = ordered[len(ordered) // 2]
    top = max(range(len(counts)), key=lambda i: counts[i])
    dominance = ratio(counts[top], typical)
    if dominance is None or dominance < DOMINANCE:
        return None
    share = counts[top] / sum(counts)
    mirror = ""
    last = records[-1] if records else {}
    if last.get("top_class") == top and is_number(last.get("top_class_share")):
        mirror = (
            f"; the network calls {100 * last['top_class_share']:.0f}% of the probe images "
            f"class {top}: its predictions mirror the labels, so the data is the cause"
        )
    return Finding(
        "class_imbalance",
        0.95,
        f"one class dominates the labels: class {top} has {100 * share:.0f}% of them",
        f"class {top} has {counts[top]} training labels, {fmt(dominance)}x the median class "
        f"({typical}){mirror}",
        "no setting fixes this: collect or keep as many examples of every class (or "
        "oversample the rare ones); --repair oversamples them to equal counts",
        data_fix="balance",
        stage=0,
    )


def label_noise(records, context) -> Finding | None:
    report = context.data
    share = getattr(report, "neighbour_disagreement", None)
    if not is_number(share) or share <= NOISY_LABELS:
        return None
    k, checked = getattr(report, "neighbours", 5), getattr(report, "checked", 0)
    return Finding(
        "label_noise",
        0.9,
        f"many labels disagree with their images: {100 * share:.0f}% look mislabelled",
        f"of {checked} sampled training images, {100 * share:.0f}% carry a label that the "
        f"majority of their {k} nearest training images do not share (clean MNIST: about "
        "4%, clean Fashion-MNIST about 15%)",
        "no setting fixes this: check how the labels were made; --repair drops the "
        "training examples whose label disagrees with their neighbours (Wilson's editing)",
        data_fix="clean-labels",
        stage=0,
    )
