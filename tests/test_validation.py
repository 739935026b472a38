"""Bad input and bad settings: clear errors that say what to do."""

import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from conftest import all_estimators
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skvae import VAE, ConvVAE, DenoisingAE

X_OK = np.random.RandomState(0).rand(40, 16)
KW = dict(epochs=1, random_state=0)


def fitted(estimator):
    return clone(estimator).fit(np.random.RandomState(0).rand(40, 64))


@all_estimators
@pytest.mark.parametrize(
    "X, message",
    [
        (np.full((10, 64), np.nan), "no observed value|NaN"),
        (np.full((10, 64), np.inf), "infinity"),
        (np.zeros(64), "Expected 2D array"),
        (np.zeros((0, 64)), "0 sample"),
        (np.full((10, 64), "a"), "could not convert|dtype"),
        (np.zeros((10, 64), dtype=complex), "Complex data not supported"),
        (np.full((10, 64), -1e39), r"\[-1e\+39, -1e\+39\], beyond .* float32"),
        (np.full((10, 64), np.datetime64("NaT", "D")), "dates or durations"),
    ],
    ids=["nan", "inf", "1d", "empty", "strings", "complex", "huge", "dates"],
)
def test_bad_arrays_in_fit_and_predict(estimator, X, message):
    with pytest.raises(ValueError, match=message):
        clone(estimator).fit(X)
    if X.dtype.kind == "f" and np.isnan(X).all():  # gaps: see test_tables.py
        return
    model = fitted(estimator)
    for method in ("transform", "score_samples", "predict"):
        with pytest.raises(ValueError, match=message):
            getattr(model, method)(X)


@all_estimators
def test_a_gap_changes_only_its_own_rows_score(estimator):
    model = fitted(estimator)
    X = np.random.RandomState(1).rand(5, 64)
    X[2, 7] = np.nan
    scores = model.score_samples(X)
    assert np.isfinite(scores[2])
    np.testing.assert_allclose(
        np.delete(scores, 2), model.score_samples(np.delete(X, 2, 0)), rtol=1e-5
    )


@all_estimators
def test_sparse_input_is_refused_with_advice(estimator):
    with pytest.raises(TypeError, match=r"dense data is required.*toarray"):
        clone(estimator).fit(sp.csr_matrix(np.eye(64)))


@all_estimators
def test_wrong_number_of_features(estimator):
    model = fitted(estimator)
    with pytest.raises(ValueError, match="has 63 features, but .* is expecting 64"):
        model.transform(np.zeros((3, 63)))


@all_estimators
def test_inverse_transform_needs_codes(estimator):
    model = fitted(estimator)
    with pytest.raises(ValueError, match=f"latent_dim={model.latent_dim}"):
        model.inverse_transform(np.zeros((3, model.latent_dim + 1)))


@all_estimators
def test_unfitted_model_says_so(estimator):
    for method in ("transform", "score_samples", "predict", "decision_function"):
        with pytest.raises(NotFittedError):
            getattr(clone(estimator), method)(X_OK)


def test_dense_models_refuse_3d_arrays():
    with pytest.raises(ValueError, match="Found array with dim 3"):
        VAE(**KW).fit(np.zeros((10, 8, 8)))
    with pytest.raises(ValueError, match="Found array with dim 3"):
        DenoisingAE(**KW).fit(np.zeros((10, 8, 8)))


@pytest.mark.parametrize(
    "params, message",
    [
        (
            dict(latent_dim=0),
            "'latent_dim' parameter of VAE must be an int in the range",
        ),
        (
            dict(likelihood="poisson"),
            "'likelihood' parameter of VAE must be a str among",
        ),
        (dict(optimizer="lbfgs"), "'optimizer' parameter"),
        (dict(activation="swish"), "'activation' parameter"),
        (dict(contamination=0.7), "'contamination' parameter"),
        (dict(trim_fraction=0.5), "'trim_fraction' parameter"),
        (dict(trim_fraction="half"), "'trim_fraction' parameter"),
        (dict(trim_weight=1.5), "'trim_weight' parameter"),
        (dict(train_importance_samples=0), "'train_importance_samples' parameter"),
        (dict(learning_rate_schedule="linear"), "'learning_rate_schedule' parameter"),
        (dict(validation_fraction=1.0), "'validation_fraction' parameter"),
        (
            dict(hidden_layer_sizes=(10, 0)),
            "hidden_layer_sizes must be a sequence of positive",
        ),
        (
            dict(hidden_layer_sizes=("a",)),
            "hidden_layer_sizes must be a sequence of positive",
        ),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(
        ValueError, match=re.escape(message) if "(" in message else message
    ):
        VAE(**params, **KW).fit(X_OK)


def test_parameters_are_validated_in_fit_not_init():
    vae = VAE(latent_dim=-3)
    assert vae.latent_dim == -3
    with pytest.raises(ValueError, match="latent_dim"):
        vae.fit(X_OK)


def test_bernoulli_needs_unit_range():
    with pytest.raises(
        ValueError, match=r"needs X in \[0, 1\].*\[-1, 2\].*MinMaxScaler\(clip=True\)"
    ):
        VAE(likelihood="bernoulli", **KW).fit(np.linspace(-1, 2, 160).reshape(10, 16))
    vae = VAE(likelihood="bernoulli", **KW).fit(X_OK)
    with pytest.raises(ValueError, match="MinMaxScaler"):
        vae.score_samples(X_OK + 5)


def test_too_few_samples():
    with pytest.raises(ValueError, match="leaves no training sample with n_samples=1"):
        VAE(**KW).fit(X_OK[:1])
    with pytest.raises(ValueError, match="at least 2 training samples"):
        VAE(batch_norm=True, validation_fraction=0, **KW).fit(X_OK[:1])
    # one sample is enough for a model without batch norm and validation,
    # even of one feature (no variance to start the Gaussian likelihood from)
    VAE(validation_fraction=0, **KW).fit(X_OK[:1])
    VAE(validation_fraction=0, **KW).fit(X_OK[:1, :1])


def test_batch_norm_with_a_lone_last_sample_trains():
    # 65 samples in batches of 32 leave one sample over: it sits out the epoch
    VAE(batch_norm=True, batch_size=32, validation_fraction=0, **KW).fit(
        np.random.RandomState(0).rand(65, 4)
    )


def test_unavailable_or_unknown_devices():
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available.*device='cpu'"):
            VAE(device="cuda", **KW).fit(X_OK)
        with pytest.raises(ValueError, match="CUDA is not available"):
            VAE(device="cuda:1", **KW).fit(X_OK)
    with pytest.raises(ValueError, match="not a torch device"):
        VAE(device="gpu0", **KW).fit(X_OK)
    with pytest.raises(ValueError, match="not supported"):
        VAE(device="meta", **KW).fit(X_OK)


def test_divergence_stops_with_the_epoch_and_the_cause():
    X = np.random.RandomState(0).rand(200, 16) * 1e3
    vae = VAE(learning_rate=1e6, optimizer="sgd", epochs=5, random_state=0)
    with pytest.raises(FloatingPointError, match=r"epoch 1\b.*learning_rate=1000000"):
        vae.fit(X)
    # the weights from before the failed epoch are back: no NaN model
    assert np.isfinite(vae.transform(X)).all()
    assert np.isfinite(vae.score_samples(X)).all()


def test_sample_needs_a_positive_count():
    vae = VAE(**KW).fit(X_OK)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        vae.sample(0)


def test_masking_noise_level_is_a_fraction():
    with pytest.raises(ValueError, match=r"noise_level must be in \[0, 1\]"):
        DenoisingAE(noise="masking", noise_level=1.5, **KW).fit(X_OK)


# ---- images -------------------------------------------------------------------


@pytest.mark.parametrize("cls", [ConvVAE, DenoisingAE])
def test_non_square_features_need_an_image_shape(cls):
    extra = {"architecture": "conv"} if cls is DenoisingAE else {}
    with pytest.raises(
        ValueError, match="560 features, which is not a perfect square.*image_shape"
    ):
        cls(**extra, **KW).fit(np.zeros((10, 560)))


@pytest.mark.parametrize(
    "image_shape, message",
    [
        ((8, 8), "holds 64 values per image, but X has 48"),
        ((4, 4, 4), "holds 64 values per image, but X has 48"),
        ((8,), r"\(height, width\) or \(height, width, channels\)"),
        ((8, 0), "positive integers"),
        ((-1, -1), "positive integers"),
        ((5, -1), "48 is not a multiple of 5"),
    ],
)
def test_image_shape_mismatch(image_shape, message):
    with pytest.raises(ValueError, match=message):
        ConvVAE(image_shape=image_shape, **KW).fit(np.zeros((10, 48)))


def test_image_arrays_must_match_the_fitted_shape():
    vae = ConvVAE(channels=(4,), hidden_layer_sizes=(8,), **KW).fit(
        np.zeros((10, 8, 8))
    )
    with pytest.raises(ValueError, match=r"images of shape \(4, 16\)"):
        vae.transform(np.zeros((3, 4, 16)))
    with pytest.raises(ValueError, match="does not match image_shape"):
        ConvVAE(image_shape=(4, 16), **KW).fit(np.zeros((10, 8, 8)))


@pytest.mark.parametrize(
    "shape",
    [(8, 8), (30, 30), (28, 20), (32, 32, 3), (7, 5), (1, 1), (64, 64)],
    ids=str,
)
@pytest.mark.parametrize("cls", [ConvVAE, DenoisingAE])
def test_any_image_size_works(cls, shape):
    extra = {"architecture": "conv"} if cls is DenoisingAE else {}
    images = np.random.RandomState(0).rand(12, *shape)
    model = cls(channels=(4, 8, 8), hidden_layer_sizes=(8,), **extra, **KW).fit(images)
    n_features = int(np.prod(shape))
    assert model.image_shape_ == (tuple(shape) + (1,))[:3]
    decoded = model.inverse_transform(model.transform(images))
    assert decoded.shape == (12, n_features)
    assert np.isfinite(model.score_samples(images.reshape(12, -1))).all()


def test_channels_last_colour_images_keep_their_layout():
    # a model of red-only images must put its reconstruction in the red channel
    images = np.zeros((64, 8, 8, 3))
    images[..., 0] = np.random.RandomState(0).rand(64, 8, 8)
    vae = ConvVAE(channels=(8,), hidden_layer_sizes=(16,), epochs=20, random_state=0)
    decoded = (
        vae.fit(images).inverse_transform(vae.transform(images)).reshape(-1, 8, 8, 3)
    )
    assert np.abs(decoded[..., 0]).mean() > 5 * np.abs(decoded[..., 1:]).mean()


def test_conv_settings():
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        ConvVAE(kernel_size=4, **KW).fit(np.zeros((10, 64)))
    with pytest.raises(ValueError, match="channels must be a sequence of positive"):
        ConvVAE(channels=(), **KW).fit(np.zeros((10, 64)))


def test_a_column_of_strings_is_named_with_the_fix():
    X = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0], "city": ["Rome", "Oslo"] * 2})
    assert VAE(**KW).fit(X).is_categorical_.tolist() == [False, True]
    with pytest.raises(ValueError, match=r"\['city'\].*categorical_features") as info:
        VAE(categorical_features=None, **KW).fit(X)
    assert "could not convert" in str(info.value.__cause__)
    with pytest.raises(ValueError, match=r"\['city'\].*for tables with categorical"):
        ConvVAE(image_shape=(1, 2), **KW).fit(X)
