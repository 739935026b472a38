"""The models really learn: quality on scikit-learn's 8x8 digits, in seconds."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsClassifier

from skvae import VAE, ConvVAE, DenoisingAE
from skvae.training.loop import make_step


def reconstruction_mse(model, X):
    return np.mean((model.inverse_transform(model.transform(X)) - X) ** 2)


def n_parameters(model):
    return sum(p.numel() for p in model.module_.parameters())


def knn_accuracy(Z_train, y_train, Z_test, y_test):
    return KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)


@pytest.fixture(scope="module")
def vae(digits_split):
    # one variance per feature: a variance per sample keeps less in 2-D codes
    vae = VAE(latent_dim=2, likelihood="gaussian", n_importance_samples=1, epochs=30)
    return vae.set_params(random_state=0).fit(digits_split[0])


@pytest.fixture(scope="module")
def untrained_vae(digits_split):
    # one step with a negligible learning rate: the initial network, which
    # already decodes every code to the mean digit (the best constant guess)
    vae = VAE(latent_dim=2, likelihood="gaussian", n_importance_samples=1, epochs=1)
    vae.set_params(learning_rate=1e-9)
    return vae.set_params(random_state=0).fit(digits_split[0])


def test_vae_reconstructs_held_out_digits(vae, untrained_vae, digits_split):
    X_test = digits_split[1]
    trained = reconstruction_mse(vae, X_test)
    assert trained < 0.6 * reconstruction_mse(untrained_vae, X_test)
    assert vae.score(X_test) > untrained_vae.score(X_test) + 15  # nats; measured 18.5


def test_vae_codes_beat_pca_codes(vae, digits_split):
    # 2-D VAE codes keep more of the digit identity than 2-D PCA
    X_train, X_test, y_train, y_test = digits_split
    pca = PCA(2).fit(X_train)
    vae_acc = knn_accuracy(
        vae.transform(X_train), y_train, vae.transform(X_test), y_test
    )
    pca_acc = knn_accuracy(
        pca.transform(X_train), y_train, pca.transform(X_test), y_test
    )
    assert vae_acc > pca_acc + 0.05


def test_digits_score_higher_than_noise(vae, digits_split):
    X_test = digits_split[1]
    noise = np.random.RandomState(0).rand(len(X_test), 64)
    digits_scores, noise_scores = vae.score_samples(X_test), vae.score_samples(noise)
    labels = np.r_[np.ones(len(X_test)), np.zeros(len(noise))]
    assert roc_auc_score(labels, np.r_[digits_scores, noise_scores]) > 0.99
    assert np.mean(vae.predict(noise) == -1) > 0.95
    assert np.mean(vae.predict(X_test) == 1) > 0.8


def test_bernoulli_vae_learns_pixels_in_unit_range(digits_split):
    X_train, X_test = digits_split[:2]
    vae = VAE(likelihood="bernoulli", epochs=30, random_state=0).fit(X_train)
    untrained = VAE(
        likelihood="bernoulli", epochs=1, learning_rate=1e-9, random_state=0
    )
    untrained.fit(X_train)
    assert reconstruction_mse(vae, X_test) < 0.65 * reconstruction_mse(
        untrained, X_test
    )
    decoded = vae.inverse_transform(vae.transform(X_test))
    assert decoded.min() >= 0 and decoded.max() <= 1


def test_conv_vae_matches_a_dense_vae_of_the_same_size(digits_split):
    # on 8x8 images one seed moves either model by a few percent: compare the
    # mean over three seeds
    X_train, X_test = digits_split[:2]
    small = dict(latent_dim=2, channels=(16, 32), hidden_layer_sizes=(64,))
    conv_mse, dense_mse = [], []
    for seed in range(3):
        conv = ConvVAE(**small, epochs=30, random_state=seed).fit(X_train)
        dense = VAE(
            latent_dim=2,
            likelihood="gaussian",  # as the ConvVAE's: one output per pixel
            hidden_layer_sizes=(200,),
            epochs=30,
            random_state=seed,
        )
        dense.fit(X_train)
        assert abs(n_parameters(conv) - n_parameters(dense)) < 0.1 * n_parameters(dense)
        conv_mse.append(reconstruction_mse(conv, X_test))
        dense_mse.append(reconstruction_mse(dense, X_test))
    untrained = ConvVAE(**small, epochs=1, learning_rate=1e-9, random_state=0)
    untrained.fit(X_train)
    assert np.mean(conv_mse) < 0.6 * reconstruction_mse(untrained, X_test)
    assert np.mean(conv_mse) <= np.mean(dense_mse)


def test_conv_vae_samples_are_images_in_the_data_range(digits_split):
    X_train = digits_split[0]
    images = X_train.reshape(-1, 8, 8)
    for likelihood in ("bernoulli", "gaussian"):
        vae = ConvVAE(
            channels=(8, 16),
            hidden_layer_sizes=(32,),
            likelihood=likelihood,
            epochs=10,
            random_state=0,
        ).fit(images)
        new = vae.sample(50, random_state=0)
        assert new.shape == (50, 64)
        if likelihood == "bernoulli":
            assert new.min() >= 0 and new.max() <= 1
        else:  # the Gaussian mean is unbounded, but learned to stay in range
            assert np.mean((new > -0.1) & (new < 1.1)) > 0.99


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("noise", ["gaussian", "masking", "salt_pepper"])
def test_denoising_removes_noise(architecture, noise, digits_split):
    X_train, X_test = digits_split[:2]
    level = 0.2
    dae = DenoisingAE(
        architecture=architecture,
        channels=(16, 32),
        noise=noise,
        noise_level=level,
        epochs=15,
        random_state=0,
    ).fit(X_train)
    rng = np.random.RandomState(1)
    if noise == "gaussian":
        noisy = X_test + rng.normal(0, level, X_test.shape)
    else:
        hit = rng.rand(*X_test.shape) < level
        fill = 0.0 if noise == "masking" else rng.rand(*X_test.shape) < 0.5
        noisy = np.where(hit, fill, X_test)
    noisy_error = np.mean((noisy - X_test) ** 2)
    assert np.mean((dae.denoise(noisy) - X_test) ** 2) < 0.7 * noisy_error


def test_denoising_scores_are_negative_reconstruction_errors(digits_split):
    X_test = digits_split[1]
    dae = DenoisingAE(epochs=5, random_state=0).fit(digits_split[0])
    errors = np.mean((dae.denoise(X_test) - X_test) ** 2, axis=1)
    np.testing.assert_allclose(dae.score_samples(X_test), -errors, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        # one variance per pixel: a model that learns the outliers ranks them
        # among the digits (a variance per sample ranks them apart regardless)
        lambda **kw: VAE(latent_dim=2, likelihood="gaussian", **kw),
        lambda **kw: DenoisingAE(latent_dim=4, **kw),
    ],
    ids=["VAE", "DenoisingAE"],
)
def test_trimmed_training_leaves_outliers_in_the_data_unlearned(make, digits_split):
    X_train, X_test = digits_split[:2]
    # 5% outliers that form a mode of their own: inverted digits
    X = np.vstack([X_train, 1 - X_train[:70]])
    X_eval = np.vstack([X_test, 1 - X_test[:100]])
    is_outlier = np.r_[np.zeros(len(X_test)), np.ones(100)]

    def auc(**trim):
        model = make(epochs=30, random_state=0, **trim).fit(X)
        return roc_auc_score(is_outlier, -model.score_samples(X_eval))

    plain = auc(trim_fraction=0.0)
    left_out = auc(trim_fraction=0.1, trim_weight=0.0)
    assert plain < 0.97  # learned as normal: they rank among the digits
    assert left_out > 0.99


def test_down_weighted_rows_are_still_learned_and_left_out_ones_are_not(
    digits_split,
):
    # the worst-fitted tenth of clean digits is their hard part, not outliers
    X_train, X_test = digits_split[:2]

    def held_out_score(**trim):
        return VAE(epochs=30, random_state=0, **trim).fit(X_train).score(X_test)

    every_row = held_out_score(trim_fraction=0.0)
    assert held_out_score() > every_row - 2  # nats per digit
    assert held_out_score(trim_weight=0.0) < every_row - 5


@pytest.mark.parametrize(
    "make, share",
    [
        (lambda **kw: VAE(**kw), 0.1),  # a variance per sample
        (lambda **kw: VAE(likelihood="gaussian", **kw), 0.0),
        (lambda **kw: VAE(likelihood="bernoulli", **kw), 0.0),
        (lambda **kw: DenoisingAE(**kw), 0.0),
    ],
    ids=["heteroscedastic", "gaussian", "bernoulli", "DenoisingAE"],
)
def test_auto_trim_down_weights_only_where_each_sample_has_its_variance(
    make, share, digits_split
):
    X = digits_split[0][:300]

    def curve(trim_fraction):
        model = make(epochs=3, trim_fraction=trim_fraction, random_state=0)
        return model.fit(X).loss_curve_

    auto = curve("auto")
    assert auto == curve(share)
    assert auto != curve(0.1 - share)  # trimming changes training


@pytest.mark.parametrize("trim_weight", [0.0, 0.1, 1.0])
def test_the_worst_rows_of_a_batch_weigh_trim_weight_in_its_step(trim_weight):
    # row i's loss is w_i * x_i, so w_i's gradient is x_i times row i's weight
    w = torch.ones(10, requires_grad=True)
    module = SimpleNamespace(loss=lambda batch, terms: w * batch)
    run = SimpleNamespace(
        terms=None, loss_kwargs={}, optimizer=torch.optim.SGD([w], lr=0.0)
    )
    step = make_step(module, trim_fraction=0.2, trim_weight=trim_weight)
    batch = torch.arange(1.0, 11.0)
    loss = step(run, batch)

    weights = torch.tensor([1.0] * 8 + [trim_weight] * 2)  # rows 9 and 10 worst
    assert loss.item() == pytest.approx((weights * batch).sum() / weights.sum())
    expected_grad = weights * batch / weights.sum()
    torch.testing.assert_close(w.grad, expected_grad)


def factor_rows(rng, mixing, n):
    """10 features driven by 3 hidden factors, plus a little noise."""
    return rng.normal(size=(n, 3)) @ mixing + 0.1 * rng.normal(size=(n, 10))


@pytest.mark.parametrize("contaminated", [False, True], ids=["clean", "contaminated"])
def test_defaults_find_outliers_in_a_few_hundred_rows(contaminated):
    # a small table in its own units: no scaler, no settings, a few seconds
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(3, 10))
    X = factor_rows(rng, mixing, 300) * 50 + 1000
    outliers = rng.uniform(-3, 3, size=(30, 10)) * 50 + 1000
    X_train = np.r_[X[:250], outliers[:15]] if contaminated else X[:250]
    X_test = np.r_[X[250:], outliers[15:]]
    is_outlier = np.r_[np.zeros(50), np.ones(15)]
    vae = VAE(random_state=0).fit(X_train)
    auc = roc_auc_score(is_outlier, -vae.score_samples(X_test))
    assert auc > 0.98
