"""A new likelihood in one file, with two decoder outputs per feature.

A Gaussian whose variance the decoder predicts for each sample: it follows
the walkthrough in docs/design.md ("Adding a likelihood"), and the dense and
convolutional VAEs train, score, decode and sample with it unchanged.
"""

import math

import numpy as np
import pytest
import torch

from skvae import VAE, ConvVAE
from skvae.likelihoods import LIKELIHOODS, Likelihood


class HeteroscedasticGaussian(Likelihood):
    """``N(mean(z), var(z))`` per feature: outputs all means, then all log-variances."""

    name = "test-heteroscedastic"
    outputs_per_feature = 2

    def initialise(self, x):
        return torch.cat([x.mean(0), x.var(0).clamp_min(1e-6).log()])

    def feature_log_prob(self, x, out):
        mean, log_var = out.unflatten(-1, (2, self.n_features)).unbind(-2)
        log_var = log_var.clamp(-12.0, 12.0)
        return -0.5 * (
            (x - mean).square() * torch.exp(-log_var) + log_var + math.log(2 * math.pi)
        )

    def mean(self, out):
        return out[..., : self.n_features]


@pytest.fixture(scope="module", autouse=True)
def registered():
    yield
    del LIKELIHOODS[HeteroscedasticGaussian.name]  # other modules see skvae's own


def noisy_circle(n, seed):
    """Points on a circle whose noise grows with the angle: a variance that
    depends on where the sample is, which one variance per feature misses."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, n)
    scale = 0.01 + 0.3 * angle / (2 * np.pi)
    points = np.c_[np.cos(angle), np.sin(angle)]
    return points + scale[:, None] * rng.standard_normal((n, 2))


def test_every_likelihood_sums_its_feature_terms():
    torch.manual_seed(0)
    x = torch.rand(5, 3)
    for name, cls in LIKELIHOODS.items():
        likelihood = cls(3)
        offset = likelihood.initialise(x)
        assert offset.shape == (likelihood.n_outputs,), name
        out = torch.randn(5, likelihood.n_outputs)
        per_feature = likelihood.feature_log_prob(x, out.clone())
        assert per_feature.shape == (5, 3), name
        torch.testing.assert_close(
            likelihood.log_prob(x, out.clone()), per_feature.sum(-1)
        )
        assert likelihood.mean(out).shape == (5, 3), name


def test_a_two_output_likelihood_trains_and_scores_unchanged():
    X_train, X_test = noisy_circle(2000, 0), noisy_circle(500, 1)
    kw = dict(latent_dim=1, hidden_layer_sizes=(64, 64), epochs=60, random_state=0)
    hetero = VAE(likelihood="test-heteroscedastic", **kw).fit(X_train)
    plain = VAE(likelihood="gaussian", **kw).fit(X_train)
    assert hetero.module_.decoder[-1].out_features == 4
    assert hetero.inverse_transform(hetero.transform(X_test)).shape == (500, 2)
    assert hetero.sample(7, random_state=0).shape == (7, 2)
    # a variance per sample fits this data better than one per feature
    assert hetero.score(X_test) > plain.score(X_test) + 0.05  # 0.10-0.22 by seed


def test_the_conv_backbone_emits_the_outputs_per_pixel(digits):
    X = digits[0][:300]
    vae = ConvVAE(
        likelihood="test-heteroscedastic",
        channels=(4,),
        hidden_layer_sizes=(16,),
        epochs=3,
        random_state=0,
    ).fit(X)
    assert vae.module_.decoder(torch.zeros(2, 16)).shape == (2, 128)
    assert np.isfinite(vae.score_samples(X)).all()
    # the means are the first 64 outputs, the log-variances the other 64
    with torch.no_grad():
        outputs = vae.module_.decoder(torch.zeros(1, 16)) + vae.module_.offset
    np.testing.assert_allclose(
        vae.inverse_transform(np.zeros((1, 16))), outputs[:, :64].numpy(), rtol=1e-5
    )


def test_a_subclass_without_a_name_of_its_own_replaces_nothing():
    from skvae.likelihoods import GaussianLikelihood

    class Tweaked(GaussianLikelihood):
        pass

    assert LIKELIHOODS["gaussian"] is GaussianLikelihood
    assert Tweaked not in LIKELIHOODS.values()
