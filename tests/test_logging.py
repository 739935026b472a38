"""TensorBoard logging of the training curves with ``log_dir``."""

import pickle
import sys

import numpy as np
import pytest

import skvae
from skvae import VAE, DenoisingAE
from skvae.training.tensorboard import TensorBoard

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator"
)

TINY = dict(hidden_layer_sizes=(8,), batch_size=64, random_state=0)
VAE_TAGS = {
    "train/loss",
    "train/learning_rate",
    "train/reconstruction_nll",
    "train/kl",
    "train/kl_weight",
    "train/n_samples",
    "validation/score",
}


def read_scalars(log_dir):
    """``{tag: (steps, values)}`` of the event files in ``log_dir``."""
    events = event_accumulator.EventAccumulator(str(log_dir)).Reload()
    return {
        tag: (
            [e.step for e in events.Scalars(tag)],
            np.array([e.value for e in events.Scalars(tag)]),
        )
        for tag in events.Tags()["scalars"]
    }


def test_vae_logs_its_loss_terms_per_epoch(digits, tmp_path):
    X, _ = digits
    vae = VAE(
        likelihood="bernoulli",
        epochs=4,
        kl_warmup_epochs=3,
        learning_rate_schedule="cosine",
        log_dir=tmp_path,
        **TINY,
    ).fit(X[:300])
    scalars = read_scalars(tmp_path)
    assert set(scalars) == VAE_TAGS
    for steps, _ in scalars.values():
        assert steps == [1, 2, 3, 4]
    np.testing.assert_allclose(scalars["train/loss"][1], vae.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(
        scalars["validation/score"][1], vae.validation_scores_, rtol=1e-6
    )
    # the loss is the reconstruction term plus the weighted KL term
    weight = scalars["train/kl_weight"][1]
    total = scalars["train/reconstruction_nll"][1] + weight * scalars["train/kl"][1]
    np.testing.assert_allclose(total, vae.loss_curve_, rtol=1e-5)
    # KL warm-up: the weight rises to beta and stays there
    np.testing.assert_allclose(weight, [1 / 3, 2 / 3, 1, 1], rtol=1e-6)
    assert np.all(scalars["train/kl"][1] >= 0)
    # the cosine schedule: half a cosine over 4 epochs, down towards 2%
    cosine = 0.5 * (1 + np.cos(np.pi * np.arange(4) / 4))
    expected = 1e-3 * (0.02 + 0.98 * cosine)
    np.testing.assert_allclose(scalars["train/learning_rate"][1], expected, rtol=1e-6)


def test_steps_continue_with_partial_fit(digits, tmp_path):
    X, _ = digits
    vae = VAE(
        epochs=2,
        validation_fraction=0,
        learning_rate_schedule="cosine",
        log_dir=tmp_path,
        **TINY,
    ).fit(X[:200])
    vae.partial_fit(X[200:400])
    scalars = read_scalars(tmp_path)
    assert "validation/score" not in scalars
    steps, values = scalars["train/loss"]
    assert steps == [1, 2, 3]
    np.testing.assert_allclose(values, vae.loss_curve_, rtol=1e-6)
    # the schedule counts epochs across calls, and ends at 2% of the rate
    learning_rates = scalars["train/learning_rate"][1]
    np.testing.assert_allclose(learning_rates, [1e-3, 5.1e-4, 2e-5], rtol=1e-6)


def test_denoising_ae_logs_its_loss(digits, tmp_path):
    X, _ = digits
    dae = DenoisingAE(latent_dim=4, epochs=3, log_dir=str(tmp_path), **TINY)
    dae.fit(X[:300])
    scalars = read_scalars(tmp_path)
    assert set(scalars) == {"train/loss", "train/learning_rate", "validation/score"}
    np.testing.assert_allclose(scalars["train/loss"][1], dae.loss_curve_, rtol=1e-6)
    assert scalars["validation/score"][0] == [1, 2, 3]


def test_no_log_dir_writes_nothing(digits, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # SummaryWriter's default folder would be ./runs
    X, _ = digits
    VAE(epochs=2, **TINY).fit(X[:200])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_log_is_closed_whatever_stops_training(
    error, digits, tmp_path, monkeypatch, fail_at
):
    closed = []

    def close(self, run, _close=TensorBoard.on_train_end):
        closed.append(self)
        _close(self, run)

    monkeypatch.setattr(TensorBoard, "on_train_end", close)
    # 200 rows in batches of 64 are 4 steps an epoch: step 10 is in epoch 3
    fail_at(10, error)
    X, _ = digits
    vae = VAE(epochs=5, validation_fraction=0, log_dir=tmp_path, **TINY)
    if error is KeyboardInterrupt:
        with pytest.warns(UserWarning, match="interrupted after 2 of 5 epochs"):
            vae.fit(X[:200])
    else:
        with pytest.raises(RuntimeError):
            vae.fit(X[:200])
    assert len(closed) == 1
    # the epochs that count are logged, the interrupted one is not
    assert read_scalars(tmp_path)["train/loss"][0] == [1, 2]


def test_fitted_model_pickles_and_saves_with_log_dir(digits, tmp_path):
    X, _ = digits
    vae = VAE(epochs=2, log_dir=tmp_path / "logs", **TINY).fit(X[:200])
    clone = pickle.loads(pickle.dumps(vae))
    assert clone.log_dir == tmp_path / "logs"
    vae.save(tmp_path / "vae.skvae")
    assert skvae.load(tmp_path / "vae.skvae").log_dir == tmp_path / "logs"
    np.testing.assert_allclose(
        clone.score_samples(X[:5]), vae.score_samples(X[:5]), rtol=1e-6
    )


def test_missing_tensorboard_is_a_clear_error_before_training(
    digits, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    X, _ = digits
    vae = VAE(epochs=2, log_dir=tmp_path, **TINY)
    with pytest.raises(ImportError, match=r"pip install tensorboard.*\[tensorboard\]"):
        vae.fit(X[:200])
    assert not hasattr(vae, "module_")
    assert list(tmp_path.iterdir()) == []


def test_log_dir_is_validated(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="log_dir"):
        VAE(epochs=1, log_dir=3, **TINY).fit(X[:100])
