"""Devices: GPU training where there is one, and models that move between machines."""

import copy
import pickle

import numpy as np
import pytest
import torch
from conftest import all_estimators
from sklearn.base import clone

from skvae import VAE, ConvVAE, load


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
    assert loaded.device_ == "cpu" and loaded.device == "auto"
    np.testing.assert_array_equal(loaded.transform(X), vae.transform(X))
    # a model whose device parameter names the GPU follows the fallback
    state = vae.__getstate__()
    state.update(device_="cuda:0", device="cuda")
    loaded = VAE.__new__(VAE)
    with pytest.warns(UserWarning, match="device parameter set to 'cpu'"):
        loaded.__setstate__(state)
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.score_samples(X), vae.score_samples(X))


@pytest.mark.gpu
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
def test_gpu_and_cpu_models_learn_alike(digits):
    X = digits[0]
    kw = dict(hidden_layer_sizes=(64,), epochs=20, random_state=0)
    gpu = VAE(device="cuda", **kw).fit(X)
    cpu = VAE(device="cpu", **kw).fit(X)
    assert gpu.score(X) == pytest.approx(cpu.score(X), abs=3.0)


def test_setting_the_same_device_after_fit_changes_nothing(digits):
    X = digits[0][:200]
    kw = dict(hidden_layer_sizes=(16,), epochs=2, random_state=0)
    est = VAE(device="cpu", **kw).fit(X)
    twin = copy.deepcopy(est)
    Z, scores = est.transform(X), est.score_samples(X)
    est.set_params(device=torch.device("cpu"))
    np.testing.assert_array_equal(est.transform(X), Z)
    np.testing.assert_array_equal(est.score_samples(X), scores)
    est.partial_fit(X)
    twin.partial_fit(X)
    assert est.loss_curve_ == twin.loss_curve_
    np.testing.assert_array_equal(est.transform(X), twin.transform(X))


def test_a_move_keeps_the_optimizer_state(digits):
    # 'cpu:0' names the CPU differently, so the model takes the path of a move
    # between devices; training goes on as if it had not moved
    X = digits[0][:200]
    kw = dict(hidden_layer_sizes=(16,), epochs=2, random_state=0)
    est = VAE(device="cpu", **kw).fit(X)
    twin = copy.deepcopy(est)
    est.set_params(device="cpu:0").partial_fit(X)
    twin.partial_fit(X)
    assert est.device_ == "cpu:0"
    assert est.loss_curve_ == twin.loss_curve_
    np.testing.assert_array_equal(est.transform(X), twin.transform(X))


def test_an_unavailable_device_after_fit_is_a_clear_error(digits):
    X = digits[0][:100]
    est = VAE(hidden_layer_sizes=(8,), epochs=1, device="cpu", random_state=0).fit(X)
    Z = est.transform(X)
    unavailable = [("meta", "not supported"), ("gpu0", "not a torch device")]
    if not torch.cuda.is_available():
        unavailable.append(("cuda", "CUDA is not available.*device='cpu'"))
    for device, message in unavailable:
        est.set_params(device=device)
        for use in (est.transform, est.score_samples, est.partial_fit):
            with pytest.raises(ValueError, match=message):
                use(X)
    # nothing moved: the model works where it is once the device is valid again
    np.testing.assert_array_equal(est.set_params(device="cpu").transform(X), Z)


def test_conv_weights_stay_channels_last(digits, tmp_path):
    # the images enter channels-last; weights in the same layout spare oneDNN
    # and cuDNN a conversion around every convolution (1.3x faster CPU fits)
    X = digits[0][:200]
    est = ConvVAE(hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(X)
    est.save(tmp_path / "model.skvae")
    copies = [pickle.loads(pickle.dumps(est)), load(tmp_path / "model.skvae")]
    for model in [est] + copies:
        kernels = [p for p in model.module_.parameters() if p.dim() == 4]
        moments = [
            value
            for p in kernels
            for key, value in model._optimizer.state[p].items()
            if key != "step"
        ]
        assert kernels and moments
        assert all(
            t.is_contiguous(memory_format=torch.channels_last)
            for t in kernels + moments
        )
        np.testing.assert_array_equal(model.transform(X), est.transform(X))


@pytest.mark.gpu
def test_a_cpu_fitted_model_moves_to_the_gpu(digits):
    X = digits[0][:300]
    kw = dict(hidden_layer_sizes=(32,), epochs=3, random_state=0)
    est = VAE(device="cpu", **kw).fit(X)
    Z, scores = est.transform(X), est.score_samples(X)
    est.set_params(device="cuda")
    np.testing.assert_allclose(est.transform(X), Z, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(est.score_samples(X), scores, rtol=1e-5, atol=1e-5)
    assert est.device_.startswith("cuda")
    assert next(est.module_.parameters()).is_cuda
    # training goes on there, with the optimizer's moments moved along
    n_iter = est.n_iter_
    est.partial_fit(X)
    est.set_params(warm_start=True, epochs=1).fit(X)
    assert est.n_iter_ == n_iter + 2 and np.isfinite(est.loss_curve_).all()
    moments = [
        value
        for state in est._optimizer.state.values()
        for key, value in state.items()
        if key != "step"
    ]
    assert moments and all(value.is_cuda for value in moments)
    assert np.isfinite(est.set_params(device="cpu").score_samples(X)).all()
