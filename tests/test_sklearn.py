"""scratchnet.sklearn.MLPClassifier: scikit-learn's estimator contract, and use in its tools."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import NotFittedError, SkipTestWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from scratchnet.sklearn import MLPClassifier  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's own 8x8 digits (1,797 images, shipped with it): a quick, real task."""
    x, y = load_digits(return_X_y=True)
    return train_test_split(x / 16, y, test_size=0.25, random_state=0, stratify=y)


@pytest.mark.slow  # about a second: the full suite runs it
def test_passes_check_estimator():
    # As written: the warnings by which scikit-learn says it skipped a check (array API, pandas)
    # are ignored in pyproject.toml's filterwarnings; every other warning is an error.
    check_estimator(MLPClassifier())


def test_check_estimator_runs_every_check_it_can():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkipTestWarning)
        results = check_estimator(MLPClassifier(epochs=3), on_fail=None)
    assert [r["check_name"] for r in results if r["status"] == "failed"] == []
    assert sum(r["status"] == "passed" for r in results) >= 50


def test_fit_predict_score_on_real_digits(digits):
    x_train, x_test, y_train, y_test = digits
    clf = MLPClassifier(hidden=(64,), epochs=15).fit(x_train, y_train)
    assert clf.classes_.tolist() == list(range(10)) and clf.n_features_in_ == 64
    assert clf.score(x_test, y_test) > 0.95
    probs = clf.predict_proba(x_test)
    assert probs.shape == (len(x_test), 10)
    np.testing.assert_array_equal(clf.classes_[probs.argmax(axis=1)], clf.predict(x_test))
    assert clf.history_.epochs == 15


def test_string_labels_come_back_as_given(digits):
    x_train, x_test, y_train, _ = digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    clf = MLPClassifier(hidden=(32,), epochs=5).fit(x_train, names[y_train])
    assert set(clf.predict(x_test)) <= set(names)
    assert clf.classes_.tolist() == sorted(names)


def test_get_and_set_params_are_the_constructor_parameters():
    clf = MLPClassifier(hidden=(16, 8), optimizer="adam", learning_rate=1e-3)
    params = clf.get_params()
    assert params["hidden"] == (16, 8) and params["optimizer"] == "adam"
    assert {"epochs", "batch_size", "dropout", "weight_decay", "seed", "schedule"} <= set(params)
    clf.set_params(epochs=2, dropout=0.1)
    assert clf.epochs == 2 and clf.dropout == 0.1


def test_bad_settings_fail_in_fit_with_the_setting_named(digits):
    x_train, _, y_train, _ = digits
    clf = MLPClassifier(optimizer="nope")  # constructing never fails (scikit-learn's rule)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        clf.fit(x_train, y_train)
    with pytest.raises(ValueError, match="dropout must be in"):
        MLPClassifier(dropout=1.5).fit(x_train, y_train)


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(np.zeros((2, 3)))


def test_partial_fit_continues_training(digits):
    x_train, x_test, y_train, y_test = digits
    clf = MLPClassifier(hidden=(32,))
    with pytest.raises(ValueError, match="needs classes="):
        clf.partial_fit(x_train, y_train)
    clf.partial_fit(x_train[:300], y_train[:300], classes=np.arange(10))
    first = clf.score(x_test, y_test)
    for _ in range(5):
        clf.partial_fit(x_train, y_train)
    assert clf.history_.epochs == 6 and clf.history_.history["epoch"] == [1, 2, 3, 4, 5, 6]
    assert clf.score(x_test, y_test) > max(first, 0.9)
    with pytest.raises(ValueError, match="labels not in classes_"):
        clf.partial_fit(x_train[:5], np.full(5, 11))


def test_early_stopping_holds_out_a_share(digits):
    x_train, _, y_train, _ = digits
    clf = MLPClassifier(hidden=(16,), epochs=30, early_stopping=2, learning_rate=0.5).fit(
        x_train, y_train
    )
    assert "val_accuracy" in clf.history_.history
    assert clf.history_.epochs <= 30


def test_in_a_pipeline_with_grid_search_and_cross_validation(digits):
    x_train, x_test, y_train, y_test = digits
    pipe = make_pipeline(MinMaxScaler(), MLPClassifier(epochs=4))
    search = GridSearchCV(pipe, {"mlpclassifier__hidden": [(16,), (48,)]}, cv=2)
    search.fit(x_train, y_train)
    assert search.best_params_["mlpclassifier__hidden"] in [(16,), (48,)]
    assert search.score(x_test, y_test) > 0.85
    scores = cross_val_score(MLPClassifier(hidden=(32,), epochs=4), x_train, y_train, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85


def test_same_seed_same_model(digits):
    x_train, x_test, y_train, _ = digits
    a = MLPClassifier(hidden=(16,), epochs=2, seed=4).fit(x_train, y_train).predict_proba(x_test)
    b = MLPClassifier(hidden=(16,), epochs=2, seed=4).fit(x_train, y_train).predict_proba(x_test)
    c = MLPClassifier(hidden=(16,), epochs=2, seed=5).fit(x_train, y_train).predict_proba(x_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_importing_scratchnet_does_not_import_sklearn():
    code = "import sys, scratchnet; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
