"""The scikit-learn API as users rely on it, over every model and backbone."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import all_estimators
from sklearn.base import clone
from sklearn.cluster import DBSCAN
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.manifold import TSNE
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skvae import VAE, ConvVAE, DenoisingAE
from skvae._backend import epoch_cap, epoch_patience

FAST_KW = dict(epochs=3, random_state=0)


@all_estimators
def test_outputs_shapes_and_determinism(estimator, digits):
    X = digits[0][:300]
    est = clone(estimator).fit(X)
    Z = est.transform(X)
    assert Z.shape == (300, est.latent_dim)
    assert est.inverse_transform(Z).shape == X.shape
    scores = est.score_samples(X)
    assert scores.shape == (300,) and np.isfinite(scores).all()
    np.testing.assert_array_equal(est.transform(X), Z)
    np.testing.assert_array_equal(est.score_samples(X), scores)
    assert est.score(X) == pytest.approx(scores.mean())


@all_estimators
def test_results_do_not_depend_on_the_batch(estimator, digits):
    # to float32 rounding: a row's result is the same alone, in a batch, reversed
    X = digits[0][:200]
    est = clone(estimator).fit(X)
    for method in ("transform", "score_samples"):
        full = getattr(est, method)(X)
        np.testing.assert_allclose(
            getattr(est, method)(X[:7]), full[:7], rtol=1e-5, atol=1e-5
        )
        np.testing.assert_allclose(
            getattr(est, method)(X[::-1]), full[::-1], rtol=1e-5, atol=1e-5
        )


@all_estimators
def test_float32_in_float32_out(estimator, digits):
    X = digits[0][:100].astype(np.float32)
    est = clone(estimator).fit(X)
    assert est.transform(X).dtype == np.float32
    assert est.score_samples(X).dtype == np.float32
    assert est.transform(X.astype(np.float64)).dtype == np.float64


@all_estimators
def test_same_random_state_same_model(estimator, digits):
    X = digits[0][:200]
    a = clone(estimator).fit(X)
    b = clone(estimator).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert a.loss_curve_ == b.loss_curve_
    c = clone(estimator).set_params(random_state=1).fit(X)
    assert not np.allclose(a.transform(X), c.transform(X))


def test_fit_leaves_torch_global_random_state_alone(digits):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    VAE(epochs=1, hidden_layer_sizes=(8,), random_state=0).fit(digits[0][:100])
    np.testing.assert_array_equal(torch.rand(3), expected)


@all_estimators
@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_persistence_round_trip(estimator, dump, digits, tmp_path):
    X = digits[0][:200]
    est = clone(estimator).fit(X)
    if dump == "pickle":
        loaded = pickle.loads(pickle.dumps(est))
    else:
        joblib.dump(est, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
    for method in ("transform", "score_samples", "predict", "decision_function"):
        np.testing.assert_array_equal(
            getattr(loaded, method)(X), getattr(est, method)(X)
        )
    # the fitted estimator keeps working and the loaded one can train on
    assert est.score(X) == loaded.score(X)
    loaded.partial_fit(X)
    assert loaded.n_iter_ == est.n_iter_ + 1


@all_estimators
def test_clone_gives_an_unfitted_copy(estimator, digits):
    est = clone(estimator).fit(digits[0][:100])
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "module_")


@all_estimators
def test_feature_names_and_pandas_output(estimator, digits):
    X = pd.DataFrame(digits[0][:100], columns=[f"px{i}" for i in range(64)])
    est = clone(estimator).set_output(transform="pandas").fit(X)
    prefix = type(est).__name__.lower()
    expected = [f"{prefix}{i}" for i in range(est.latent_dim)]
    assert list(est.get_feature_names_out()) == expected
    Z = est.transform(X)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == expected
    assert list(est.feature_names_in_) == list(X.columns)


@all_estimators
def test_outlier_api_follows_isolation_forest(estimator, digits):
    X = digits[0][:400]
    est = clone(estimator).set_params(contamination=0.2)
    labels = est.fit_predict(X)
    assert set(np.unique(labels)) == {-1, 1}
    assert np.mean(labels == -1) == pytest.approx(0.2, abs=0.01)
    # the quantile of all of X's scores, validation rows included
    assert est.offset_ == pytest.approx(np.percentile(est.score_samples(X), 20))
    np.testing.assert_allclose(
        est.decision_function(X), est.score_samples(X) - est.offset_
    )
    np.testing.assert_array_equal(est.predict(X), labels)


@all_estimators
def test_partial_fit_streams_chunks(estimator, digits):
    X = digits[0]
    est = clone(estimator)
    for chunk in np.array_split(X[:1200], 4):
        est.partial_fit(chunk)
    first = est.score(X[:1200])
    for _ in range(3):  # tiny models may sit on a plateau for a round
        for chunk in np.array_split(X[:1200], 4):
            est.partial_fit(chunk)
    assert est.n_iter_ == 16
    assert len(est.loss_curve_) == 16
    # the data it learns from (held-out rows may score lower: without early
    # stopping a variance per sample overfits 8x8 digits)
    assert est.score(X[:1200]) > first


@all_estimators
def test_warm_start_continues_training(estimator, digits):
    X = digits[0][:300]
    est = clone(estimator).set_params(warm_start=True, early_stopping=False).fit(X)
    before = est.transform(X)
    est.fit(X)
    assert est.n_iter_ == 2 * estimator.epochs
    assert len(est.loss_curve_) == 2 * estimator.epochs
    cold = clone(estimator).set_params(early_stopping=False).fit(X)
    cold.fit(X)
    assert cold.n_iter_ == estimator.epochs
    assert not np.array_equal(before, est.transform(X))


@all_estimators
def test_training_on_follows_changed_optimizer_params(estimator, digits):
    X = digits[0][:300]
    est = clone(estimator).set_params(warm_start=True, early_stopping=False).fit(X)

    def weights():
        return torch.cat([p.detach().flatten() for p in est.module_.parameters()])

    before = weights()
    est.set_params(learning_rate=1e-12).fit(X)  # lowered: the weights stay put
    assert torch.allclose(weights(), before, rtol=0, atol=1e-8)
    est.set_params(learning_rate=1e-2).partial_fit(X)
    assert not torch.allclose(weights(), before, rtol=0, atol=1e-4)
    est.set_params(optimizer="sgd", learning_rate=1e-12).partial_fit(X)
    assert isinstance(est._optimizer, torch.optim.SGD)
    assert [g["lr"] for g in est._optimizer.param_groups] == [1e-12]


def test_early_stopping_stops_and_restores_the_best_epoch(digits):
    X = digits[0]
    est = VAE(hidden_layer_sizes=(256,), epochs=200, n_iter_no_change=3, random_state=0)
    est.set_params(n_importance_samples=1)  # scored as validated: the ELBO
    est.fit(X)
    assert est.n_iter_ < 200
    assert len(est.validation_scores_) == est.n_iter_
    assert np.argmax(est.validation_scores_) < est.n_iter_ - 1
    # the validation split is the first permutation drawn from random_state
    X_val = X[
        np.random.RandomState(0).permutation(len(X))[: int(np.ceil(0.1 * len(X)))]
    ]
    assert est.score(X_val) == pytest.approx(max(est.validation_scores_), rel=1e-5)


def test_without_validation_early_stopping_watches_the_loss(digits):
    est = VAE(
        hidden_layer_sizes=(32,),
        epochs=200,
        validation_fraction=0,
        n_iter_no_change=2,
        tol=1.0,
        random_state=0,
    ).fit(digits[0])
    assert est.validation_scores_ is None
    assert est.n_iter_ < 200


def test_early_stopping_waits_for_the_kl_warmup(digits):
    # with the KL term growing, the score falls for a while: no early stop then
    est = VAE(
        hidden_layer_sizes=(32,),
        epochs=12,
        kl_warmup_delay=4,
        kl_warmup_epochs=4,
        n_iter_no_change=1,
        tol=1e9,
        random_state=0,
    ).fit(digits[0][:300])
    assert est.n_iter_ == 4 + 3 + 1 + 1


def test_a_model_still_improving_at_the_cap_warns(digits):
    est = VAE(hidden_layer_sizes=(32,), epochs=3, random_state=0)
    # the patience ('auto': 34 epochs here) is longer than the fit: the warning
    # speaks of the epochs that ran
    expected = r"cap of epochs=3 .*validation score.* within the last 3 epochs"
    with pytest.warns(ConvergenceWarning, match=expected):
        est.fit(digits[0][:300])
    assert est.n_iter_ == 3
    # the same without early stopping, and watching the loss without validation
    est.set_params(early_stopping=False, validation_fraction=0)
    with pytest.warns(ConvergenceWarning, match="training loss was still improving"):
        est.fit(digits[0][:300])


@pytest.mark.parametrize("early_stopping", [True, False])
def test_a_converged_model_does_not_warn(early_stopping, digits):
    # with tol that high the score never counts as improving after the first epoch
    kw = dict(n_iter_no_change=2, tol=1e9, kl_warmup_epochs=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = VAE(
            hidden_layer_sizes=(32,), epochs=8, early_stopping=early_stopping, **kw
        )
        est.fit(digits[0][:300])
        est.partial_fit(digits[0][:300])  # one pass by design: no warning
    assert est.n_iter_ == (3 if early_stopping else 8) + 1


def test_auto_epochs_budget_optimizer_steps(digits):
    # 3,000 steps: 1,000 epochs of 3 batches, at least 50 epochs on large data
    assert epoch_cap("auto", n_train=270, batch_size=128) == 1000
    assert epoch_cap("auto", n_train=54_000, batch_size=128) == 50
    assert epoch_cap("auto", n_train=5, batch_size=128) == 3000
    assert epoch_cap(7, n_train=270, batch_size=128) == 7
    # a small table trains far past 50 epochs, until early stopping ends it
    est = VAE(hidden_layer_sizes=(32,), random_state=0).fit(digits[0][:200])
    assert 50 < est.n_iter_ < 1000


def test_kl_warmup_schedule():
    vae = VAE(beta=2.0, kl_warmup_delay=2, kl_warmup_epochs=4)
    schedule = vae._loss_schedule()
    weights = [schedule.settings(epoch)["kl_weight"] for epoch in range(8)]
    assert weights == [0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert schedule.settled_after == 5  # the weight is final from epoch 6 on
    no_warmup = VAE(beta=0.5, kl_warmup_epochs=0)._loss_schedule()
    assert no_warmup.settings(0)["kl_weight"] == 0.5
    assert no_warmup.settled_after == 0


def test_kl_free_epochs_train_reconstruction_only(digits):
    # while the KL weight is 0 the loss is the reconstruction term alone,
    # so it is lower than the full loss, and reconstructions come out sharper
    X = digits[0][:500]
    kw = dict(hidden_layer_sizes=(32,), epochs=15, early_stopping=False, random_state=0)
    free = VAE(kl_warmup_delay=15, **kw).fit(X)
    regular = VAE(**kw).fit(X)
    assert all(f < r for f, r in zip(free.loss_curve_, regular.loss_curve_))

    def mse(model):
        return np.mean((model.inverse_transform(model.transform(X)) - X) ** 2)

    assert mse(free) < mse(regular)


@pytest.mark.parametrize("verbose, lines", [(0, 0), (1, 0), (2, 3)])
def test_verbose_progress(verbose, lines, digits, capsys):
    VAE(hidden_layer_sizes=(8,), epochs=3, verbose=verbose, random_state=0).fit(
        digits[0][:100]
    )
    err = capsys.readouterr().err
    assert err.count("epoch ") == lines
    assert (verbose >= 1) == ("loss=" in err)


@all_estimators
def test_grid_search_without_scoring(estimator, digits):
    X = digits[0][:300]
    grid = GridSearchCV(clone(estimator), {"latent_dim": [2, 4]}, cv=2).fit(X)
    assert grid.best_params_["latent_dim"] in (2, 4)
    means = grid.cv_results_["mean_test_score"]
    assert np.isfinite(means).all()
    assert grid.best_score_ == means.max()


def test_grid_search_picks_the_better_model(digits):
    # a VAE with no hidden layer is much worse than one with a hidden layer
    grid = GridSearchCV(
        VAE(epochs=15, random_state=0),
        {"hidden_layer_sizes": [(), (64,)]},
        cv=3,
    ).fit(digits[0])
    assert grid.best_params_["hidden_layer_sizes"] == (64,)


@all_estimators
@pytest.mark.parametrize("scaler", [StandardScaler, MinMaxScaler])
def test_pipeline_after_a_scaler(estimator, scaler, digits):
    pipe = make_pipeline(scaler(), clone(estimator)).fit(digits[0][:300])
    assert pipe.transform(digits[0][:5]).shape == (5, estimator.latent_dim)
    assert np.isfinite(pipe.score_samples(digits[0][:5])).all()
    assert set(pipe.predict(digits[0][:50])) <= {-1, 1}


def test_pipeline_after_pca(digits):
    X = digits[0][:300]
    pipe = make_pipeline(
        PCA(n_components=10), VAE(latent_dim=2, hidden_layer_sizes=(16,), **FAST_KW)
    )
    Z = pipe.fit_transform(X)
    assert Z.shape == (300, 2)
    assert pipe[-1].n_features_in_ == 10


def test_pipeline_before_tsne(digits):
    X = digits[0][:200]
    pipe = make_pipeline(
        VAE(latent_dim=8, hidden_layer_sizes=(32,), **FAST_KW),
        TSNE(n_components=2, perplexity=10, random_state=0),
    )
    embedding = pipe.fit_transform(X)
    assert embedding.shape == (200, 2) and np.isfinite(embedding).all()


def test_pipeline_before_dbscan(digits):
    X = digits[0][:300]
    pipe = make_pipeline(
        MinMaxScaler(), VAE(hidden_layer_sizes=(32,), **FAST_KW), DBSCAN(eps=0.3)
    )
    labels = pipe.fit_predict(X)
    assert labels.shape == (300,)
    assert len(set(labels) - {-1}) >= 1


def test_issue_example_pipeline(digits):
    # the one-liner users asked for: scale, encode, cluster
    labels = make_pipeline(
        MinMaxScaler(), VAE(latent_dim=2, epochs=30, random_state=0), DBSCAN(eps=0.3)
    ).fit_predict(digits[0])
    assert labels.shape == (1797,)


def test_sample_draws_new_data(digits):
    X = digits[0][:300]
    vae = VAE(hidden_layer_sizes=(32,), likelihood="bernoulli", **FAST_KW).fit(X)
    new = vae.sample(10, random_state=0)
    assert new.shape == (10, 64)
    assert new.min() >= 0 and new.max() <= 1
    np.testing.assert_array_equal(new, vae.sample(10, random_state=0))
    assert not np.array_equal(new, vae.sample(10, random_state=1))


def test_denoising_ae_has_no_sample():
    assert not hasattr(DenoisingAE(), "sample")


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_denoising_ae_scores_by_reconstruction_error(architecture, digits):
    # outliers are flagged by how badly inverse_transform(transform(X)) fits X
    X = digits[0][:200]
    ae = DenoisingAE(architecture=architecture, image_shape=(8, 8), **FAST_KW)
    ae.fit(X)
    error = ((ae.inverse_transform(ae.transform(X)) - X) ** 2).mean(axis=1)
    np.testing.assert_allclose(ae.score_samples(X), -error, rtol=1e-4, atol=1e-6)


def test_image_arrays_are_the_same_images(digits):
    X = digits[0][:200]
    images = X.reshape(-1, 8, 8)
    flat = ConvVAE(channels=(4,), hidden_layer_sizes=(16,), **FAST_KW).fit(X)
    cube = ConvVAE(channels=(4,), hidden_layer_sizes=(16,), **FAST_KW).fit(images)
    assert cube.image_shape_ == flat.image_shape_ == (8, 8, 1)
    np.testing.assert_array_equal(cube.transform(images), flat.transform(X))
    np.testing.assert_array_equal(cube.transform(images[..., None]), flat.transform(X))
    assert cube.inverse_transform(cube.transform(images)).shape == (200, 64)


def test_fitted_attributes(digits):
    est = VAE(hidden_layer_sizes=(8,), **FAST_KW).fit(digits[0][:100])
    assert est.n_features_in_ == 64
    assert est.n_iter_ == FAST_KW["epochs"] == len(est.loss_curve_)
    assert len(est.validation_scores_) == est.n_iter_
    assert isinstance(est.offset_, float)
    assert est.device_ == "cpu"


def test_device_auto_is_cpu_without_cuda(digits):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    est = VAE(hidden_layer_sizes=(8,), device="auto", **FAST_KW).fit(digits[0][:50])
    assert est.device_ == "cpu"


def test_torch_device_object_is_accepted(digits):
    est = VAE(hidden_layer_sizes=(8,), device=torch.device("cpu"), **FAST_KW)
    assert est.fit(digits[0][:50]).device_ == "cpu"


def test_pickle_holds_plain_tensors_not_torch_modules(digits):
    # weights load with torch.load(weights_only=True); the live model is untouched
    est = VAE(hidden_layer_sizes=(8,), **FAST_KW).fit(digits[0][:50])
    state = est.__getstate__()
    assert all(isinstance(v, torch.Tensor) for v in state["module_"].values())
    assert hasattr(est, "module_") and isinstance(est.module_, torch.nn.Module)
    buffer = io.BytesIO()
    torch.save(state["module_"], buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True).keys() == state["module_"].keys()


def test_batch_norm_auto_is_on_for_conv_backbones_only(digits):
    X = digits[0][:100]

    def has_batch_norm(est):
        norms = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)
        return any(isinstance(layer, norms) for layer in est.module_.modules())

    kw = dict(channels=(4,), hidden_layer_sizes=(8,), batch_norm="auto", **FAST_KW)
    assert has_batch_norm(DenoisingAE(architecture="conv", **kw).fit(X))
    assert not has_batch_norm(DenoisingAE(architecture="mlp", **kw).fit(X))
    assert has_batch_norm(ConvVAE(**kw).fit(X))
    assert not has_batch_norm(
        VAE(hidden_layer_sizes=(8,), batch_norm="auto", **FAST_KW).fit(X)
    )


def test_auto_patience_counts_optimizer_steps_on_small_data(digits):
    # 10 epochs, or as many as 100 optimizer steps take
    assert epoch_patience("auto", n_train=54_000, batch_size=128) == 10
    assert epoch_patience("auto", n_train=270, batch_size=128) == 34
    assert epoch_patience("auto", n_train=60, batch_size=128) == 100
    assert epoch_patience(3, n_train=60, batch_size=128) == 3
    # 54 training rows make one step per epoch: early stopping waits 100
    # epochs after the first (with tol this high, no later epoch improves)
    est = VAE(hidden_layer_sizes=(8,), tol=1e9, kl_warmup_epochs=0, random_state=0)
    assert est.fit(digits[0][:60]).n_iter_ == 1 + 100
