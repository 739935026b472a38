"""A new model in one file: probabilistic PCA as a skvae estimator.

It follows the walkthrough in docs/design.md ("Adding a model"): a torch
module with the model contract and an estimator that declares its
parameters and builds the module. Nothing else in skvae is touched, and the
whole scikit-learn contract, model files and the outlier API work on it.
"""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

import skvae
from skvae._base import BaseAutoencoder
from skvae._registry import ESTIMATORS, model_name


class LinearGaussian(nn.Module):
    """``x = W z + mu + noise``, ``z ~ N(0, I)``, ``noise ~ N(0, s2 I)``.

    Its marginal ``p(x)`` is ``N(mu, W W^T + s2 I)`` (Tipping & Bishop,
    1999), so the loss is the exact negative log-likelihood.
    """

    def __init__(self, n_features, latent_dim):
        super().__init__()
        self.weight = nn.Parameter(0.1 * torch.randn(n_features, latent_dim))
        self.log_noise = nn.Parameter(torch.zeros(()))
        self.register_buffer("mean", torch.zeros(n_features))
        self.widest = n_features

    def _covariance(self):
        noise = self.log_noise.exp() * torch.eye(len(self.mean))
        return self.weight @ self.weight.T + noise.to(self.weight.device)

    def initialise(self, x):
        with torch.no_grad():
            self.mean.copy_(x.mean(0))
            self.log_noise.fill_(float(x.var(0).mean().log()))

    def embed(self, x):
        """The posterior mean ``M^-1 W^T (x - mu)``, ``M = W^T W + s2 I``."""
        eye = torch.eye(self.weight.shape[1], device=x.device)
        inner = self.weight.T @ self.weight + self.log_noise.exp() * eye
        return torch.linalg.solve(inner, self.weight.T @ (x - self.mean).T).T

    def decode(self, z):
        return z @ self.weight.T + self.mean

    def score(self, x):
        distribution = torch.distributions.MultivariateNormal(
            self.mean, covariance_matrix=self._covariance()
        )
        return distribution.log_prob(x)

    def loss(self, x, terms=None):
        return -self.score(x)


class PPCA(BaseAutoencoder):
    """Probabilistic PCA fitted by stochastic gradient descent.

    Parameters
    ----------
    latent_dim : int, default=2
        Number of components.
    """

    def __init__(
        self,
        latent_dim=2,
        epochs=50,
        batch_size=128,
        learning_rate=1e-2,
        learning_rate_schedule="constant",
        optimizer="adam",
        weight_decay=0.0,
        validation_fraction=0.1,
        early_stopping=True,
        n_iter_no_change="auto",
        tol=1e-4,
        contamination=0.1,
        trim_fraction="auto",
        trim_weight=0.3,
        device="auto",
        compile=False,
        mixed_precision=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        checkpoint=None,
        log_dir=None,
    ):
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.contamination = contamination
        self.trim_fraction = trim_fraction
        self.trim_weight = trim_weight
        self.device = device
        self.compile = compile
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.checkpoint = checkpoint
        self.log_dir = log_dir

    def _build_module(self, n_features):
        return LinearGaussian(n_features, self.latent_dim)


# the networks compute in float32: see test_estimator_checks.py
FLOAT32_GEMM = {"check_methods_subset_invariance": "float32 matrix products"}


@parametrize_with_checks(
    [PPCA(epochs=3, random_state=0)],
    expected_failed_checks=lambda estimator: FLOAT32_GEMM,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_a_model_is_registered_when_it_is_defined():
    assert ESTIMATORS[model_name(PPCA)] is PPCA
    assert model_name(PPCA) == f"{__name__}.PPCA"  # not a name of skvae's
    assert "BaseVAE" not in ESTIMATORS  # abstract bases are not models


def test_a_class_defined_again_replaces_the_first_and_shadows_nothing():
    def define():
        class VAE(skvae.VAE):  # a user's class of the name of skvae's
            pass

        return VAE

    first, second = define(), define()  # as a notebook cell run twice
    assert ESTIMATORS[model_name(second)] is second is not first
    assert ESTIMATORS["VAE"] is skvae.VAE
    del ESTIMATORS[model_name(second)]


def test_it_learns_the_likelihood_of_pca(digits):
    # sklearn's PCA gives the exact maximum-likelihood PPCA: the gradient
    # fit comes close to it, far above where it starts
    X = digits[0][:600]
    exact = PCA(n_components=2).fit(X).score(X)
    model = PPCA(epochs=60, validation_fraction=0, random_state=0).fit(X)
    start = PPCA(epochs=1, learning_rate=1e-12, random_state=0).fit(X).score(X)
    assert model.score(X) > exact - 0.05 * abs(exact)
    assert model.score(X) - start > 20 * (exact - model.score(X))


def test_save_load_and_outlier_api(digits, tmp_path):
    X = digits[0][:400]
    model = PPCA(epochs=20, contamination=0.05, random_state=0).fit(X)
    model.save(tmp_path / "ppca.skvae")
    loaded = skvae.load(tmp_path / "ppca.skvae")
    assert type(loaded) is PPCA
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    noise = np.random.default_rng(0).uniform(0, 1, (20, X.shape[1]))
    assert (loaded.predict(noise) == -1).all()
    assert np.mean(loaded.predict(X) == -1) == pytest.approx(0.05, abs=0.01)
    assert loaded.transform(X).shape == (400, 2)
