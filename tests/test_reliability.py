"""Nothing lost: interrupts, divergence, model files, checkpoints and threads."""

import builtins
import itertools
import math
import multiprocessing
import os
import pathlib
import re
import struct
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import add_callback, all_estimators, before_each_step
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import skvae
import skvae._backend
import skvae.training.cpu
from skvae import VAE, ConvVAE, DenoisingAE
from skvae.training.cpu import allowed_cores, flushing_denormals, free_cores
from skvae.training.loop import Callback
from skvae.training.optimizers import OPTIMIZERS, fresh_optimizer, make_optimizer

SMALL = dict(hidden_layer_sizes=(16,), batch_size=64, random_state=0)


def assert_same_model(a, b, X):
    for method in ("transform", "score_samples", "predict"):
        np.testing.assert_array_equal(getattr(a, method)(X), getattr(b, method)(X))
    assert a.offset_ == b.offset_


# ---- interrupts ---------------------------------------------------------------


@all_estimators
def test_interrupt_keeps_the_last_finished_epoch(estimator, digits, fail_at):
    # 200 rows in batches of 64 are 4 steps an epoch: step 10 is in epoch 3
    X = digits[0][:200]
    est = clone(estimator).set_params(epochs=5, validation_fraction=0)
    fail_at(10)
    with pytest.warns(UserWarning, match="interrupted after 2 of 5 epochs") as record:
        assert est.fit(X) is est
    assert record[0].filename == __file__  # points at the call of fit
    assert est.n_iter_ == len(est.loss_curve_) == 2
    assert not est.module_.training
    # the half epoch is gone: the model is the one trained for 2 epochs
    assert_same_model(est, clone(est).set_params(epochs=2).fit(X), X)


def test_interrupt_with_early_stopping_keeps_the_best_epoch(digits, fail_at):
    X = digits[0][:300]
    est = VAE(epochs=8, validation_fraction=0.2, kl_warmup_epochs=0, **SMALL)
    est.set_params(n_importance_samples=1)  # scored as validated: the ELBO
    fail_at(4 * 4 + 2)  # 240 training rows: 4 steps an epoch, so in epoch 5
    with pytest.warns(UserWarning, match="after 4 of 8 epochs.*best validation"):
        est.fit(X)
    assert len(est.validation_scores_) == est.n_iter_ == 4
    X_val = X[np.random.RandomState(0).permutation(300)[:60]]
    assert est.score(X_val) == pytest.approx(max(est.validation_scores_), rel=1e-5)


def test_interrupt_before_the_first_epoch_leaves_a_usable_model(digits, fail_at):
    X = digits[0][:200]
    fail_at(1)
    with pytest.warns(UserWarning, match="after 0 of 3 epochs.*initial weights"):
        est = VAE(epochs=3, **SMALL).fit(X)
    assert est.n_iter_ == 0 and est.loss_curve_ == []
    assert np.isfinite(est.transform(X)).all()
    assert np.isfinite(est.score_samples(X)).all()
    assert set(est.predict(X)) <= {-1, 1} and math.isfinite(est.offset_)


def test_interrupted_partial_fit_keeps_the_model_it_had(digits, fail_at):
    X = digits[0][:200]
    est = DenoisingAE(latent_dim=4, **SMALL).partial_fit(X)
    before = est.transform(X)
    fail_at(2)
    with pytest.warns(UserWarning, match="after 0 of 1 epochs.*before this call"):
        est.partial_fit(X)
    assert est.n_iter_ == 1
    np.testing.assert_array_equal(est.transform(X), before)
    est.partial_fit(X)  # and it trains on
    assert est.n_iter_ == 2


def test_any_error_in_training_leaves_a_consistent_model(digits, fail_at):
    X = digits[0][:200]
    est = ConvVAE(channels=(4,), epochs=3, validation_fraction=0, **SMALL)
    fail_at(6, RuntimeError("CUDA out of memory"))
    with pytest.raises(RuntimeError, match="out of memory"):
        est.fit(X)
    # out of training mode (batch norm, dropout): predictions are deterministic
    assert not est.module_.training
    np.testing.assert_array_equal(est.transform(X), est.transform(X))
    assert math.isfinite(est.offset_)


def test_nan_is_caught_in_the_epoch_it_appears(digits, fail_at, monkeypatch):
    # step 6 of 4 per epoch turns the loss NaN: epoch 2 fails, epoch 1 stays
    X = digits[0][:200]
    calls = itertools.count(1)

    class Poison(Callback):
        def on_batch_begin(self, run):
            if next(calls) == 6:
                with torch.no_grad():
                    run.module.posterior.bias.fill_(float("nan"))

    add_callback(monkeypatch, Poison())
    est = VAE(epochs=4, validation_fraction=0, **SMALL)
    with pytest.raises(FloatingPointError, match=r"in epoch 2\b"):
        est.fit(X)
    assert est.n_iter_ == 1
    monkeypatch.undo()
    assert_same_model(est, VAE(epochs=1, validation_fraction=0, **SMALL).fit(X), X)


# ---- model files --------------------------------------------------------------


@all_estimators
def test_save_and_load_give_the_same_model(estimator, digits, tmp_path):
    X = pd.DataFrame(digits[0][:200], columns=[f"px{i}" for i in range(64)])
    est = clone(estimator).fit(X)
    est.save(tmp_path / "model.skvae")
    loaded = skvae.load(tmp_path / "model.skvae")
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    assert_same_model(loaded, est, X)
    np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    assert loaded.feature_names_in_.dtype == object
    for name in ("n_features_in_", "n_iter_", "loss_curve_", "validation_scores_"):
        assert getattr(loaded, name) == getattr(est, name)
    assert getattr(loaded, "image_shape_", None) == getattr(est, "image_shape_", None)
    # both train on alike: optimizer and random state are restored too
    np.testing.assert_array_equal(
        loaded.partial_fit(X).transform(X), est.partial_fit(X).transform(X)
    )


def test_model_file_holds_plain_values_and_tensors(digits, tmp_path):
    est = ConvVAE(channels=(4,), epochs=1, **SMALL).fit(digits[0][:100])
    est.save(tmp_path / "model.skvae")
    payload = torch.load(tmp_path / "model.skvae", weights_only=True)
    assert payload["format"] == "skvae" and payload["version"] == 1
    assert payload["skvae_version"] == skvae.__version__
    assert payload["estimator"] == "ConvVAE"
    assert payload["params"]["channels"] == (4,)
    assert payload["attributes"]["image_shape_"] == (8, 8, 1)

    def plain(obj):
        if isinstance(obj, dict):
            return all(plain(k) and plain(v) for k, v in obj.items())
        if isinstance(obj, (list, tuple)):
            return all(plain(v) for v in obj)
        return obj is None or type(obj) in (bool, int, float, str, torch.Tensor)

    assert plain(payload)


def test_parameters_of_any_allowed_type_come_back_exactly(digits, tmp_path):
    X = digits[0][:100]
    params = dict(
        latent_dim=np.int64(3),
        hidden_layer_sizes=[16],
        channels=np.array([4, 8]),
        image_shape=(8, -1),
        device=torch.device("cpu"),
        checkpoint=tmp_path / "checkpoint.skvae",
        epochs=1,
    )
    est = ConvVAE(**params).fit(X)
    est.save(tmp_path / "model.skvae")
    loaded = skvae.load(tmp_path / "model.skvae").get_params()
    for name, value in params.items():
        assert type(loaded[name]) is type(value)
        np.testing.assert_array_equal(loaded[name], value)


def test_random_state_instances_are_saved_with_their_state(digits, tmp_path):
    est = VAE(epochs=1, hidden_layer_sizes=(8,), random_state=np.random.RandomState(3))
    est.fit(digits[0][:100]).save(tmp_path / "model.skvae")
    loaded = skvae.load(tmp_path / "model.skvae")
    assert loaded.random_state.randint(10**9) == est.random_state.randint(10**9)


def test_unfitted_models_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        VAE().save(tmp_path / "model.skvae")
    assert not os.listdir(tmp_path)


def test_values_a_file_cannot_hold_are_named(digits, tmp_path):
    est = VAE(epochs=1, hidden_layer_sizes=(8,), random_state=0).fit(digits[0][:50])
    est.set_params(device=object())
    with pytest.raises(TypeError, match="Cannot save a value of type object"):
        est.save(tmp_path / "model.skvae")
    assert not os.listdir(tmp_path)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, digits):
    path = tmp_path_factory.mktemp("model") / "model.skvae"
    VAE(epochs=1, **SMALL).fit(digits[0][:100]).save(path)
    return path


def resave(payload, path, **changes):
    torch.save({**payload, **changes}, path)
    return path


def flip_a_bit(data, where):
    return data[:where] + bytes([data[where] ^ 1]) + data[where + 1 :]


BAD_FILES = {  # name: how to make one from the bytes of a good model file
    "cut": lambda path, data: path.write_bytes(data[: len(data) // 2]),
    "bit-in-weights": lambda path, data: path.write_bytes(
        flip_a_bit(data, len(data) // 2)
    ),
    "bit-in-header": lambda path, data: path.write_bytes(flip_a_bit(data, 100)),
    "empty": lambda path, data: path.write_bytes(b""),
    "text": lambda path, data: path.write_text("a text file\n"),
    "dict": lambda path, data: torch.save({"weights": torch.zeros(3)}, path),
    "list": lambda path, data: torch.save([1, 2, 3], path),
    "pickle": lambda path, data: torch.save(VAE(), path),
}


@pytest.mark.parametrize("make_file", BAD_FILES.values(), ids=list(BAD_FILES))
def test_bad_files_are_not_valid_model_files(make_file, model_file, tmp_path):
    path = tmp_path / "bad.skvae"
    make_file(path, model_file.read_bytes())
    with pytest.raises(ValueError, match="bad.skvae is not a valid skvae model file"):
        skvae.load(path)


def test_damage_is_found_by_checksum(model_file, tmp_path):
    data = model_file.read_bytes()
    with zipfile.ZipFile(model_file) as archive:  # the middle of the largest record
        record = max(archive.infolist(), key=lambda info: info.file_size)
    header = record.header_offset  # a local header: 30 bytes, name, extra field
    name_size, extra_size = struct.unpack("<HH", data[header + 26 : header + 30])
    start = header + 30 + name_size + extra_size
    path = tmp_path / "bad.skvae"
    path.write_bytes(flip_a_bit(data, start + record.file_size // 2))
    with pytest.raises(ValueError, match=r"its part '.*' is damaged \(checksum"):
        skvae.load(path)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(estimator="os.system"), r"'os.system' is not one of skvae's"),
        (dict(estimator=["VAE"]), "is not one of skvae's"),
        (dict(params={"no_such_parameter": 1}), "its VAE does not load"),
        (dict(attributes={}), "its VAE has no network"),
        (dict(attributes=[]), "its VAE does not load"),
    ],
)
def test_files_with_bad_contents_are_refused(changes, message, model_file, tmp_path):
    payload = torch.load(model_file, weights_only=True)
    with pytest.raises(ValueError, match=message):
        skvae.load(resave(payload, tmp_path / "bad.skvae", **changes))


def test_file_of_another_format_version_names_both(model_file, tmp_path):
    payload = torch.load(model_file, weights_only=True)
    path = resave(payload, tmp_path / "new.skvae", version=2, skvae_version="9.0")
    with pytest.raises(
        ValueError, match=r"format version 2 \(written by skvae 9.0\).*version 1"
    ):
        skvae.load(path)


def test_loading_a_file_runs_no_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return exec, ("import builtins; builtins.skvae_was_attacked = True",)

    torch.save({"format": "skvae", "version": 1, "params": Payload()}, tmp_path / "x")
    with pytest.raises(ValueError, match="not a valid skvae model file"):
        skvae.load(tmp_path / "x")
    assert not hasattr(builtins, "skvae_was_attacked")


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        skvae.load(tmp_path / "nothing.skvae")


def test_gpu_model_file_loads_on_a_cpu_only_machine(
    model_file, tmp_path, monkeypatch, digits
):
    payload = torch.load(model_file, weights_only=True)
    attributes = {**payload["attributes"], "device_": "cuda:0"}
    path = resave(payload, tmp_path / "gpu.skvae", attributes=attributes)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="fitted on cuda:0.*loaded on the CPU"):
        loaded = skvae.load(path)
    assert loaded.device_ == "cpu"
    assert_same_model(loaded, skvae.load(model_file), digits[0][:50])


def test_a_failed_save_leaves_the_old_file_whole(model_file, tmp_path, monkeypatch):
    path = tmp_path / "model.skvae"
    path.write_bytes(model_file.read_bytes())
    est = skvae.load(path)
    est.n_iter_ = 99

    def full_disk(obj, file):
        file.write(b"half a model")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        est.save(path)
    assert os.listdir(tmp_path) == ["model.skvae"]
    assert skvae.load(path).n_iter_ == 1


# ---- checkpoints --------------------------------------------------------------


def test_training_resumes_from_a_checkpoint(digits, tmp_path):
    X = digits[0][:300]
    path = tmp_path / "run.skvae"
    kw = dict(kl_warmup_epochs=0, early_stopping=False, **SMALL)
    est = VAE(epochs=2, checkpoint=path, **kw).fit(X)
    assert os.listdir(tmp_path) == ["run.skvae"]  # no temporary files left
    # checkpointing does not change training
    assert_same_model(est, VAE(epochs=2, **kw).fit(X), X)
    resumed = skvae.load(path)
    assert_same_model(resumed, est, X)
    assert resumed.n_iter_ == 2
    resumed.set_params(warm_start=True, epochs=3).fit(X)
    assert resumed.n_iter_ == len(resumed.loss_curve_) == 5
    assert resumed.loss_curve_[:2] == est.loss_curve_
    assert resumed.loss_curve_[-1] < resumed.loss_curve_[1]
    assert skvae.load(path).n_iter_ == 5
    assert os.listdir(tmp_path) == ["run.skvae"]


def test_checkpoint_holds_the_last_finished_epoch(digits, tmp_path, fail_at):
    X = digits[0][:200]
    path = tmp_path / "run.skvae"
    kw = dict(validation_fraction=0, **SMALL)
    fail_at(10)  # in epoch 3 of 4 steps each
    with pytest.warns(UserWarning, match="after 2 of 5"):
        VAE(epochs=5, checkpoint=str(path), **kw).fit(X)
    checkpoint = skvae.load(path)
    assert checkpoint.n_iter_ == 2
    assert_same_model(checkpoint, VAE(epochs=2, **kw).fit(X), X)


def test_partial_fit_writes_a_checkpoint_per_call(digits, tmp_path):
    X = digits[0][:200]
    est = DenoisingAE(latent_dim=4, checkpoint=tmp_path / "run.skvae", **SMALL)
    for chunk in np.array_split(X, 2):
        est.partial_fit(chunk)
    assert skvae.load(tmp_path / "run.skvae").n_iter_ == 2


def test_checkpoint_folder_must_exist_before_training(digits, tmp_path, fail_at):
    fail_at(1, AssertionError("training started"))
    missing = tmp_path / "no" / "run.skvae"
    with pytest.raises(ValueError, match=re.escape(f"folder '{missing.parent}'")):
        VAE(checkpoint=missing, **SMALL).fit(digits[0][:50])
    with pytest.raises(ValueError, match="'checkpoint' parameter"):
        VAE(checkpoint=3, **SMALL).fit(digits[0][:50])


# ---- threads ------------------------------------------------------------------


@all_estimators
def test_threads_predict_as_one_thread_does(estimator, digits):
    X = digits[0][:400]
    est = clone(estimator).fit(X)
    tasks = [
        (method, X[start : start + 100])
        for method in ("transform", "score_samples", "predict")
        for start in range(0, 400, 50)
    ]
    sequential = [getattr(est, method)(rows) for method, rows in tasks]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda task: getattr(est, task[0])(task[1]), tasks))
    for a, b in zip(sequential, threaded):
        np.testing.assert_array_equal(a, b)


@pytest.fixture
def threads_seen(monkeypatch):
    """The torch thread count of every training step, in order."""
    seen = []
    before_each_step(monkeypatch, lambda: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield seen
    torch.set_num_threads(before)


def test_training_threads_suit_the_work_of_a_step(threads_seen, digits):
    X = digits[0][:300]
    # about 5 MFLOP per step: one thread, as torch's threads would cost more
    VAE(epochs=1, hidden_layer_sizes=(16,), batch_size=32).fit(X)
    assert set(threads_seen) == {1}
    assert torch.get_num_threads() == 2
    threads_seen.clear()
    # about 500 MFLOP per step: all the threads the caller allows
    VAE(epochs=1, hidden_layer_sizes=(512,), batch_size=1024).fit(X)
    assert set(threads_seen) == {2}
    assert torch.get_num_threads() == 2


def test_training_threads_count_every_importance_sample(threads_seen, digits):
    X = digits[0][:300]
    kw = dict(epochs=1, hidden_layer_sizes=(512,), batch_size=32)
    VAE(**kw).fit(X)  # about 13 MFLOP per step
    assert set(threads_seen) == {1}
    threads_seen.clear()
    VAE(train_importance_samples=16, **kw).fit(X)  # 16 decoder passes: 110 MFLOP
    assert set(threads_seen) == {2}


def test_training_threads_are_restored_however_training_ends(
    threads_seen, digits, fail_at
):
    X = digits[0][:300]
    fail_at(2, KeyboardInterrupt)
    with pytest.warns(UserWarning, match="interrupted"):
        DenoisingAE(epochs=2, **SMALL).fit(X)
    assert torch.get_num_threads() == 2
    fail_at(1, RuntimeError("out of memory"))
    with pytest.raises(RuntimeError, match="out of memory"):
        VAE(epochs=2, **SMALL).fit(X)
    assert torch.get_num_threads() == 2
    assert threads_seen and set(threads_seen) == {1}


def test_training_in_threads_leaves_the_caller_setting(threads_seen, digits):
    X = digits[0][:300]
    fits = [VAE(epochs=2, hidden_layer_sizes=(16,), random_state=s) for s in range(4)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda est: est.fit(X), fits))
    assert set(threads_seen) == {1}
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("caller_flushes", [False, True])
def test_training_flushes_denormals_and_restores_the_setting(
    monkeypatch, digits, fail_at, caller_flushes
):
    X = digits[0][:200]
    seen = []
    before_each_step(monkeypatch, lambda: seen.append(flushing_denormals()))
    if not torch.set_flush_denormal(caller_flushes):
        pytest.skip("this CPU cannot flush denormals")
    try:
        assert flushing_denormals() == caller_flushes
        VAE(epochs=1, **SMALL).fit(X)
        assert seen and all(seen)  # denormals slow Adam's steps several times
        assert flushing_denormals() == caller_flushes
        fail_at(2, KeyboardInterrupt)
        with pytest.warns(UserWarning, match="interrupted"):
            DenoisingAE(epochs=2, **SMALL).fit(X)
        assert flushing_denormals() == caller_flushes
    finally:
        torch.set_flush_denormal(False)


def test_pathlib_and_str_paths_work_alike(digits, tmp_path):
    est = VAE(epochs=1, **SMALL).fit(digits[0][:50])
    est.save(str(tmp_path / "a.skvae"))
    est.save(pathlib.Path(tmp_path / "b.skvae"))
    assert_same_model(skvae.load(str(tmp_path / "b.skvae")), est, digits[0][:50])
    assert sorted(os.listdir(tmp_path)) == ["a.skvae", "b.skvae"]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_undone_steps_leave_a_fresh_optimizer_of_the_same_settings(name):
    module = torch.nn.Linear(3, 2)
    optimizer = make_optimizer(name, module, 1e-3, 0.1)
    optimizer.param_groups[0]["lr"] = 5e-4  # as a schedule sets it
    module(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    fresh = fresh_optimizer(optimizer, module)
    assert type(fresh) is type(optimizer) and not fresh.state
    for key in ("lr", "weight_decay", "fused"):
        assert fresh.param_groups[0].get(key) == optimizer.param_groups[0].get(key)


def _spin(spinning):
    spinning.set()
    while True:
        pass


@pytest.mark.skipif(
    not os.path.exists("/proc/loadavg") or allowed_cores() < 2,
    reason="needs Linux's count of running tasks and two cores",
)
def test_free_cores_leaves_out_a_core_another_process_keeps_busy():
    cores = allowed_cores()
    context = multiprocessing.get_context("spawn")
    spinning = context.Event()
    spinner = context.Process(target=_spin, args=(spinning,), daemon=True)
    spinner.start()
    try:
        # a spawned process imports this module first, which takes seconds
        assert spinning.wait(timeout=120)
        time.sleep(0.1)
        assert free_cores() <= cores - 1
    finally:
        spinner.terminate()
        spinner.join()


def test_free_cores_counts_every_core_where_the_kernel_does_not_tell(monkeypatch):
    def no_proc():
        raise OSError("no /proc here")

    monkeypatch.setattr(skvae.training.cpu, "_running_elsewhere", no_proc)
    assert free_cores() == allowed_cores()


def test_training_and_scoring_use_no_busy_core(threads_seen, monkeypatch, digits):
    X = digits[0][:300]
    monkeypatch.setattr(skvae._backend, "free_cores", lambda: 1)
    vae = VAE(epochs=1, hidden_layer_sizes=(512,), batch_size=1024)
    scoring = []
    vae.fit(X)  # about 500 MFLOP per step: two threads if both cores were free
    assert set(threads_seen) == {1}
    vae.module_.encoder.register_forward_hook(
        lambda *_: scoring.append(torch.get_num_threads())
    )
    vae.score_samples(X)
    assert scoring and set(scoring) == {1}
    assert torch.get_num_threads() == 2  # the caller's setting is back


@pytest.mark.parametrize("name", ["vae", "convvae", "denoisingae"])
def test_model_files_of_skvae_0_1_0_load_and_score_alike(name, digits):
    # written by skvae 0.1.0 before its core was split into layers
    data = pathlib.Path(__file__).parent / "data"
    model = skvae.load(data / f"{name}-0.1.0.skvae")
    expected = np.load(data / "scores-0.1.0.npz")[name]
    # alike up to float32 rounding, which differs between CPUs' kernels
    np.testing.assert_allclose(model.score_samples(digits[0][:20]), expected, rtol=1e-6)
    # it goes on training as it was trained: trimming, if any, leaves the
    # worst rows out; the prior is N(0, I); rows are not smoothed
    params = model.get_params()
    assert params["trim_weight"] == 0.0
    if name != "denoisingae":
        assert params["prior"] == "normal"
    assert params.get("smoothing", 0.0) == 0.0
    model.partial_fit(digits[0][:200])  # and it trains on
    assert model.n_iter_ == 3


def test_a_pickle_from_before_priors_and_smoothing_loads_as_it_was_trained(digits):
    X = digits[0][:200]
    model = VAE(prior="normal", smoothing=0, epochs=2, random_state=0).fit(X)
    state = model.__getstate__()
    del state["prior"], state["smoothing"]  # as an older version pickled it
    old = VAE.__new__(VAE)
    old.__setstate__(state)
    assert old.get_params()["prior"] == "normal"
    assert old.get_params()["smoothing"] == 0.0
    np.testing.assert_array_equal(old.score_samples(X), model.score_samples(X))
