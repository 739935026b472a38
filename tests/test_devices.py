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


@pytest.mark.parametrize("model", [VAE, ConvVAE])
def test_mixed_precision_runs_the_networks_in_bfloat16_while_training(model, digits):
    X = digits[0][:256]
    kw = dict(hidden_layer_sizes=(32,), epochs=6, random_state=0)
    full = model(**kw).fit(X)
    est = copy.deepcopy(full)
    seen = []  # (training, dtype) of each encoder output
    est.module_.encoder.register_forward_hook(
        lambda module, args, out: seen.append((module.training, out.dtype))
    )
    est.set_params(mixed_precision="bf16", warm_start=True, epochs=2).fit(X)
    est.transform(X)
    assert {dtype for training, dtype in seen if training} == {torch.bfloat16}
    # validation scores and inference run in float32
    assert {dtype for training, dtype in seen if not training} == {torch.float32}
    assert next(est.module_.parameters()).dtype == torch.float32
    # the loss terms are float32 sums, whatever autocast does to the networks
    module, x = est.module_.train(), torch.as_tensor(X, dtype=torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mean, log_var = module.encode(x)
        log_lik = module.likelihood.log_prob(x, module._decoder_out(mean))
        loss = module.loss(x)
    assert {t.dtype for t in (mean, log_var, log_lik, loss)} == {torch.float32}
    mixed = model(mixed_precision="bf16", **kw).fit(X)
    assert mixed.loss_curve_[-1] == pytest.approx(full.loss_curve_[-1], rel=0.02)
    assert mixed.score_samples(X).dtype == np.float64


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated")
def test_compile_trains_through_torch_compile(digits, monkeypatch):
    compiled = []

    def spy(fn, **kwargs):
        compiled.append(fn)
        return real_compile(fn, **kwargs)

    real_compile = torch.compile
    monkeypatch.setattr(torch, "compile", spy)
    # one batch shape and a constant KL weight: a single compilation
    X = digits[0][:512]
    kw = dict(
        hidden_layer_sizes=(32,),
        epochs=8,
        batch_size=128,
        validation_fraction=0,
        kl_warmup_epochs=0,
        random_state=0,
    )
    est = VAE(compile=True, **kw).fit(X)
    assert [fn.__func__ for fn in compiled] == [type(est.module_).loss]
    eager = VAE(**kw).fit(X)
    # compiled random draws differ, so the runs do; they learn alike
    assert est.loss_curve_[-1] < 0.6 * est.loss_curve_[0]
    assert est.score(X) == pytest.approx(eager.score(X), rel=0.1)
    copy = pickle.loads(pickle.dumps(est))  # nothing compiled is kept
    np.testing.assert_array_equal(copy.score_samples(X), est.score_samples(X))


def test_cudnn_autotuning_gives_the_callers_setting_back():
    from skvae.training.cuda import cudnn_autotuning

    before = torch.backends.cudnn.benchmark
    try:
        for setting in (False, True):
            torch.backends.cudnn.benchmark = setting
            with cudnn_autotuning():
                with cudnn_autotuning():  # a second fit, e.g. in another thread
                    assert torch.backends.cudnn.benchmark
                assert torch.backends.cudnn.benchmark  # the first still runs
            assert torch.backends.cudnn.benchmark is setting
    finally:
        torch.backends.cudnn.benchmark = before


@pytest.mark.gpu
def test_conv_training_on_the_gpu_autotunes_compiles_and_mixes_precision(
    digits, monkeypatch
):
    from conftest import before_each_step

    X = digits[0][:512]
    settings = []  # autocast in training is checked on the CPU, above
    before_each_step(
        monkeypatch, lambda: settings.append(torch.backends.cudnn.benchmark)
    )
    before = torch.backends.cudnn.benchmark
    kw = dict(hidden_layer_sizes=(32,), epochs=5, device="cuda", random_state=0)
    plain = ConvVAE(**kw).fit(X)
    ConvVAE(mixed_precision="bf16", **kw).fit(X)
    assert set(settings) == {True}
    assert torch.backends.cudnn.benchmark is before
    monkeypatch.undo()  # compile the model's own loss, not the recording one
    est = ConvVAE(compile=True, mixed_precision="bf16", **kw).fit(X)
    assert est.score(X) == pytest.approx(plain.score(X), rel=0.1)
