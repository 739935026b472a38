"""Devices: GPU training where there is one, and models that move between machines."""

import pickle

import numpy as np
import pytest
import torch
from conftest import all_estimators
from sklearn.base import clone

from skvae import VAE

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"
)


def test_gpu_fitted_model_loads_on_a_cpu_only_machine(digits, monkeypatch):
    # a pickle from a GPU machine names a CUDA device_; without CUDA it maps to CPU
    X = digits[0][:100]
    vae = VAE(hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(X)
    state = vae.__getstate__()
    state["device_"] = "cuda:0"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = VAE.__new__(VAE)
    with pytest.warns(UserWarning, match="fitted on cuda:0.*loaded on the CPU"):
        loaded.__setstate__(state)
    assert loaded.device_ == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), vae.transform(X))


@pytest.mark.gpu
@needs_cuda
@all_estimators
def test_training_on_the_gpu(estimator, digits):
    X = digits[0][:300]
    est = clone(estimator).set_params(device="cuda").fit(X)
    assert est.device_.startswith("cuda")
    assert next(est.module_.parameters()).is_cuda
    Z = est.transform(X)
    assert isinstance(Z, np.ndarray) and np.isfinite(Z).all()
    np.testing.assert_array_equal(est.score_samples(X), est.score_samples(X))
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.device_ == est.device_
    np.testing.assert_array_equal(loaded.transform(X), Z)


@pytest.mark.gpu
@needs_cuda
def test_gpu_and_cpu_models_learn_alike(digits):
    X = digits[0]
    kw = dict(hidden_layer_sizes=(64,), epochs=20, random_state=0)
    gpu = VAE(device="cuda", **kw).fit(X)
    cpu = VAE(device="cpu", **kw).fit(X)
    assert gpu.score(X) == pytest.approx(cpu.score(X), abs=3.0)
