"""Shared data and small, fast estimator configurations for the tests."""

import itertools

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import skvae._backend
from skvae._base import BaseAutoencoder
from skvae._registry import ESTIMATORS
from skvae.training.cpu import allowed_cores
from skvae.training.loop import Callback


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` are skipped where torch sees no CUDA device."""
    if torch.cuda.is_available():
        return
    needs_cuda = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(needs_cuda)


@pytest.fixture(autouse=True)
def idle_cores(monkeypatch):
    """Tests see every core free: thread counts, and so the last bits of
    float32 results, must not depend on what else the machine runs then.
    ``tests/test_reliability.py`` tests the busy case itself."""
    cores = allowed_cores()
    monkeypatch.setattr(skvae._backend, "free_cores", lambda: cores)


# small networks and few epochs: each fit takes well under a second
FAST = dict(epochs=3, batch_size=64, random_state=0)


# per model, the settings that make it small (one instance per backbone);
# a model not named here is tested as it comes, with FAST
SMALL = {
    "VAE": [dict(hidden_layer_sizes=(32,))],
    "ConvVAE": [dict(channels=(4, 8), hidden_layer_sizes=(16,))],
    "DenoisingAE": [
        dict(latent_dim=4, hidden_layer_sizes=(32,)),
        dict(
            latent_dim=4, architecture="conv", channels=(4, 8), hidden_layer_sizes=(16,)
        ),
    ],
}


def fast_estimators():
    """One instance per skvae model and backbone, as small as still meaningful."""
    return [
        cls(**settings, **FAST)
        for name, cls in ESTIMATORS.items()
        if cls.__module__.startswith("skvae.")  # not the tests' own models
        for settings in SMALL.get(name, [{}])
    ]


def estimator_id(est):
    arch = getattr(est, "architecture", "")
    return type(est).__name__ + (f"-{arch}" if arch else "")


all_estimators = pytest.mark.parametrize(
    "estimator", fast_estimators(), ids=estimator_id
)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits scaled to [0, 1], as (X, y)."""
    data = load_digits()
    return data.data / 16.0, data.target


@pytest.fixture(scope="session")
def digits_split(digits):
    """Train/test split of the digits: (X_train, X_test, y_train, y_test)."""
    X, y = digits
    rng = np.random.RandomState(0)
    order = rng.permutation(len(X))
    train, test = order[:1400], order[1400:]
    return X[train], X[test], y[train], y[test]


def add_callback(monkeypatch, callback):
    """Every training call of any model runs the loop with ``callback`` too."""
    parts = BaseAutoencoder._callbacks
    monkeypatch.setattr(
        BaseAutoencoder,
        "_callbacks",
        lambda self, *args, **kwargs: [*parts(self, *args, **kwargs), callback],
    )


class _BeforeEachStep(Callback):
    def __init__(self, hook):
        self.hook = hook

    def on_batch_begin(self, run):
        self.hook()


def before_each_step(monkeypatch, hook):
    """Call ``hook()`` at the start of every training step of any model."""
    add_callback(monkeypatch, _BeforeEachStep(hook))


@pytest.fixture
def fail_at(monkeypatch):
    """``fail_at(n, error)``: the n-th training step of any model raises ``error``.

    ``KeyboardInterrupt`` is what Ctrl-C raises in the training loop.
    """

    def arm(n, error=KeyboardInterrupt):
        calls = itertools.count(1)

        def fail_at_n():
            if next(calls) == n:
                raise error

        before_each_step(monkeypatch, fail_at_n)

    return arm
