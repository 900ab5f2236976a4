"""Classification metrics: accuracy, a hand-checked 3x3 confusion matrix, per-class scores."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.train import accuracy, confusion_matrix, per_class_scores

# 9 examples of 3 classes:
#   true 0: predicted 0, 1          -> row [1, 1, 0]
#   true 1: predicted 1, 1, 0       -> row [1, 2, 0]
#   true 2: predicted 2, 2, 0, 1    -> row [1, 1, 2]
LABELS = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
PREDICTIONS = np.array([0, 1, 1, 1, 0, 2, 2, 0, 1])
MATRIX = np.array([[1, 1, 0], [1, 2, 0], [1, 1, 2]])


def test_accuracy_by_hand():
    # right: positions 0, 2, 3, 5, 6 -> 5 of 9
    assert accuracy(LABELS, PREDICTIONS) == pytest.approx(5 / 9)
    assert accuracy(LABELS, LABELS) == 1.0
    assert accuracy([0, 1], [1, 0]) == 0.0
    assert isinstance(accuracy(LABELS, PREDICTIONS), float)


def test_confusion_matrix_by_hand():
    matrix = confusion_matrix(LABELS, PREDICTIONS, 3)
    np.testing.assert_array_equal(matrix, MATRIX)
    assert matrix.dtype == np.int64
    assert matrix.sum() == 9
    # Rows are the true classes, columns the predictions: transposing swaps the roles.
    np.testing.assert_array_equal(confusion_matrix(PREDICTIONS, LABELS, 3), MATRIX.T)


def test_confusion_matrix_with_more_classes_than_seen():
    matrix = confusion_matrix([0, 1], [0, 1], 4)
    assert matrix.shape == (4, 4)
    np.testing.assert_array_equal(np.diag(matrix), [1, 1, 0, 0])
    assert matrix.sum() == 2


def test_per_class_scores_by_hand():
    scores = per_class_scores(MATRIX)
    # precision_j = C[j, j] / column sum: columns sum to [3, 4, 2] -> [1/3, 2/4, 2/2]
    np.testing.assert_allclose(scores["precision"], [1 / 3, 1 / 2, 1.0])
    # recall_i = C[i, i] / row sum: rows sum to [2, 3, 4] -> [1/2, 2/3, 2/4]
    np.testing.assert_allclose(scores["recall"], [1 / 2, 2 / 3, 1 / 2])
    # F1 = 2 p r / (p + r):
    #   class 0: 2 (1/3)(1/2) / (5/6) = (1/3) / (5/6) = 2/5
    #   class 1: 2 (1/2)(2/3) / (7/6) = (2/3) / (7/6) = 4/7
    #   class 2: 2 (1)(1/2) / (3/2)   = 1 / (3/2)     = 2/3
    np.testing.assert_allclose(scores["f1"], [2 / 5, 4 / 7, 2 / 3])
    np.testing.assert_array_equal(scores["support"], [2, 3, 4])
    assert scores["support"].dtype == np.int64


def test_a_class_never_predicted_scores_zero_not_nan():
    # Class 2 appears twice but is never predicted: precision 0/0 -> 0, recall 0/2 = 0, F1 0.
    # Class 3 never appears and is never predicted: everything 0, support 0.
    matrix = confusion_matrix([0, 1, 2, 2], [0, 1, 1, 1], 4)
    scores = per_class_scores(matrix)  # pytest turns a division warning into an error
    for key in ("precision", "recall", "f1"):
        assert np.isfinite(scores[key]).all(), key
    np.testing.assert_allclose(scores["precision"], [1.0, 1 / 3, 0.0, 0.0])
    np.testing.assert_allclose(scores["recall"], [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(scores["f1"], [1.0, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(scores["support"], [1, 1, 2, 0])


def test_per_class_scores_of_an_all_zero_matrix():
    scores = per_class_scores(np.zeros((3, 3), dtype=int))
    for key in ("precision", "recall", "f1"):
        np.testing.assert_array_equal(scores[key], [0.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("labels", "predictions"),
    [
        ([0, 1, 2], [0, 1]),
        ([[0, 1]], [[0, 1]]),
        (0, 0),
    ],
)
def test_mismatched_or_non_1d_inputs_raise(labels, predictions):
    with pytest.raises(ValueError, match="1-D and of equal length"):
        accuracy(labels, predictions)
    with pytest.raises(ValueError, match="1-D and of equal length"):
        confusion_matrix(labels, predictions, 3)


def test_accuracy_of_nothing_raises():
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])


@pytest.mark.parametrize(
    ("labels", "predictions", "name"),
    [([0, 3], [0, 1], "labels"), ([0, 1], [0, -1], "predictions")],
)
def test_confusion_matrix_rejects_out_of_range_values(labels, predictions, name):
    with pytest.raises(ValueError, match=rf"{name} must be in \[0, 3\)"):
        confusion_matrix(labels, predictions, 3)
