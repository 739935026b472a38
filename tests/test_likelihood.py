"""score_samples of the VAEs as an estimate of log p(x) in nats."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from skvae import VAE, ConvVAE
from skvae.likelihoods.heteroscedastic import VARIANCE_FLOOR, HeteroscedasticGaussian
from skvae.modules.noise import row_keys, row_noise
from skvae.modules.priors import GaussianMixture, StandardNormal

KW = dict(latent_dim=4, epochs=15, random_state=0)


@pytest.fixture(scope="module")
def fitted_vaes(digits_split):
    X_train = digits_split[0]
    return [
        VAE(hidden_layer_sizes=(64,), likelihood="bernoulli", **KW).fit(X_train),
        ConvVAE(
            channels=(4, 8), hidden_layer_sizes=(32,), likelihood="bernoulli", **KW
        ).fit(X_train),
    ]


def test_more_importance_samples_tighten_the_bound(fitted_vaes, digits_split):
    X_test = digits_split[1]
    for vae in fitted_vaes:
        means = [
            vae.set_params(n_importance_samples=k).score(X_test) for k in (1, 10, 100)
        ]
        vae.set_params(n_importance_samples=1)
        # the bound rises with K, and much less from 10 to 100 than from 1 to 10
        assert means[0] < means[1] < means[2]
        assert means[2] - means[1] < means[1] - means[0]


def test_importance_weighted_scores_are_per_row_and_deterministic(fitted_vaes, digits):
    X = digits[0][:300]
    vae = fitted_vaes[0].set_params(n_importance_samples=300)
    try:
        scores = vae.score_samples(X)
        np.testing.assert_array_equal(vae.score_samples(X), scores)
        # a row's score is the same alone, in another batch, in another order
        np.testing.assert_allclose(vae.score_samples(X[:7]), scores[:7], rtol=1e-5)
        np.testing.assert_allclose(vae.score_samples(X[::-1]), scores[::-1], rtol=1e-5)
        # 300 samples span three blocks of posterior draws; duplicated rows agree
        np.testing.assert_allclose(vae.score_samples(X[[5, 5]]), scores[[5, 5]])
    finally:
        vae.set_params(n_importance_samples=1)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_score_noise_is_a_fixed_function_of_the_row(device):
    # the same draws on every device and in every version: a saved model
    # scores a row the same wherever and whenever it is loaded
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7
    keys = row_keys(x.to(device))
    assert [k % 2**64 for k in keys.tolist()] == [
        11324766277921029464,
        3845427298529656616,
        758839989147768053,
    ]
    noise = row_noise(keys, 5, 2, 3, device).cpu()
    np.testing.assert_allclose(
        noise[:, 0],
        [
            [-0.7688245, -0.2159886, 0.6848922],
            [0.5323193, 0.6609194, -1.5977960],
            [-0.5393418, -0.3579309, -0.3621213],
        ],
        rtol=1e-6,
    )
    # sample k of a row is the same whatever block asks for it
    np.testing.assert_array_equal(row_noise(keys, 0, 7, 3, device)[:, 5:].cpu(), noise)


def test_elbo_of_the_mean_does_not_depend_on_one_shared_draw(fitted_vaes, digits):
    # each row has its own posterior noise: the mean ELBO over many rows is
    # close to its expectation (here: the mean of 64 independent estimates)
    X = digits[0]
    vae = fitted_vaes[0]
    module = vae.module_
    with torch.no_grad():
        x = torch.as_tensor(X, dtype=torch.float32)
        torch.manual_seed(0)
        draws = [module._elbo_terms(x) for _ in range(64)]
        expected = np.mean([(log_lik - kl).mean().item() for log_lik, kl in draws])
    assert vae.score(X) == pytest.approx(expected, abs=0.1)


@pytest.mark.parametrize("prior", ["normal", "mixture"])
def test_importance_weighted_estimate_converges_to_the_exact_likelihood(prior):
    # a linear-Gaussian VAE, z ~ N(m_c, diag(v_c)) with weight w_c and
    # x | z ~ N(Wz + b, diag(s2)), has log p(x) = log sum_c w_c
    # N(x; W m_c + b, W diag(v_c) W^T + diag(s2)) in closed form
    rng = np.random.RandomState(0)
    W_true = rng.normal(size=(6, 2))
    X = rng.normal(size=(2000, 2)) @ W_true.T + 0.3 * rng.normal(size=(2000, 6))
    vae = VAE(
        latent_dim=2,
        likelihood="gaussian",
        prior=prior,
        smoothing=0,
        n_importance_samples=1,  # the ELBO first
        hidden_layer_sizes=(),
        epochs=30,
        random_state=0,
    ).fit(X)
    module = vae.module_
    linear = module.decoder[-1]
    W = linear.weight.detach().double().numpy()
    b = (linear.bias + module.offset).detach().double().numpy()
    s2 = module.likelihood.log_variance().exp().detach().double().numpy()
    # the model standardises columns: x = loc + scale * (its Gaussian's draw)
    loc = module.columns.loc.double().numpy()
    scale = np.diag(module.columns.scale.double().numpy())
    if prior == "normal":
        weights, means, variances = np.ones(1), np.zeros((1, 2)), np.ones((1, 2))
    else:
        p = module.prior
        weights = torch.softmax(p.logits, 0).detach().double().numpy()
        means = p.means.detach().double().numpy()
        variances = p.log_vars.exp().detach().double().numpy()
    exact = logsumexp(
        [
            np.log(w)
            + multivariate_normal(
                loc + scale @ (W @ m + b),
                scale @ (W @ np.diag(v) @ W.T + np.diag(s2)) @ scale,
            ).logpdf(X)
            for w, m, v in zip(weights, means, variances)
        ],
        axis=0,
    )

    gap = np.mean(exact - vae.score_samples(X))  # the ELBO's, over all rows
    iwae = vae.set_params(n_importance_samples=2000).score_samples(X[:200])
    error = iwae - exact[:200]
    # measured: ELBO gap 0.2 nats; K=2000 bias 0.001, mean absolute error 0.03
    assert gap > 0.1
    assert abs(error.mean()) < 0.02
    assert np.abs(error).mean() < min(0.05, gap / 3)


def test_mixture_prior_density_and_draws_are_those_of_its_components():
    torch.manual_seed(0)
    prior = GaussianMixture(3)
    with torch.no_grad():
        prior.log_vars.normal_()
        prior.logits.normal_()
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=prior.logits),
        torch.distributions.Independent(
            torch.distributions.Normal(prior.means, torch.exp(0.5 * prior.log_vars)), 1
        ),
    )
    z = 3 * torch.randn(100, 3)
    with torch.no_grad():
        torch.testing.assert_close(prior.log_prob(z), mixture.log_prob(z))
        prior.logits.copy_(torch.tensor([0.0] * 29 + [30.0]))  # one component
    codes = prior.sample(2000, np.random.RandomState(0))
    component = torch.distributions.Normal(
        prior.means[-1], torch.exp(0.5 * prior.log_vars[-1])
    )
    np.testing.assert_allclose(codes.mean(0), component.mean.detach(), atol=0.15)
    np.testing.assert_allclose(codes.std(0), component.stddev.detach(), rtol=0.1)


def test_priors_by_default_a_mixture_for_numeric_tables_only(digits):
    X = digits[0][:200]
    table = VAE(epochs=1, random_state=0).fit(X)
    # with a category column, the model of before (a row of an unseen
    # category must not find a dense spot of a learned prior)
    mixed = VAE(categorical_features=[0], epochs=1, random_state=0).fit(X)
    pixels = VAE(likelihood="bernoulli", epochs=1, random_state=0).fit(X / 16)
    images = ConvVAE(channels=(2,), hidden_layer_sizes=(), epochs=1).fit(X / 16)
    assert isinstance(table.module_.prior, GaussianMixture)
    assert table.module_.smoothing == 0.1
    for model in (mixed, pixels, images):
        assert type(model.module_.prior) is StandardNormal
        assert model.module_.smoothing == 0.0
    with pytest.raises(ValueError, match="smoothing=0.1 is in standard deviations"):
        VAE(likelihood="bernoulli", smoothing=0.1).fit(X / 16)


def test_smoothing_keeps_a_shared_value_from_claiming_all_the_density():
    # eight columns that are 0 together in 70% of the rows (an image's
    # background, zero counts): without smoothing, the variance at 0 shrinks
    # to its floor, and a normal row a tenth of a standard deviation off 0
    # scores far below one at 0
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 12))
    background = rng.uniform(size=600) < 0.7
    X[:, :8] = np.where(background[:, None], 0.0, rng.normal(2, 1, (600, 8)))
    at_zero = X[background][:200]
    off_zero = at_zero.copy()
    off_zero[:, :8] = 0.1 * X[:, :8].std(0)

    def drop(smoothing):
        vae = VAE(smoothing=smoothing, random_state=0).fit(X)
        return np.mean(vae.score_samples(at_zero) - vae.score_samples(off_zero))

    sharp, smooth = drop(0), drop(0.1)  # measured: 24 and 3.3 nats
    assert sharp > 15
    assert smooth < sharp / 4


def test_training_loss_is_the_importance_weighted_bound(fitted_vaes, digits):
    # the loss with K draws estimates the negative K-sample bound that
    # score_samples computes with n_importance_samples=K
    x = torch.as_tensor(digits[0], dtype=torch.float32)
    for vae in fitted_vaes:
        torch.manual_seed(0)
        with torch.no_grad():
            losses = [vae.module_.loss(x, n_samples=k).mean().item() for k in (1, 10)]
        bounds = [
            vae.set_params(n_importance_samples=k).score(digits[0]) for k in (1, 10)
        ]
        vae.set_params(n_importance_samples=1)
        np.testing.assert_allclose(losses, -np.array(bounds), atol=0.1)
        assert losses[1] < losses[0] - 0.1


def test_importance_weighted_training_raises_the_likelihood(digits_split):
    # IWAE training trades a little ELBO for a higher log p(x) (Burda et al.);
    # measured on 3 seeds: K=100 bound 0.19-0.26 nats higher with K=5
    X_train, X_test = digits_split[:2]
    gains = []
    for seed in (0, 1):
        bounds = {}
        for k in (1, 5):
            vae = VAE(
                hidden_layer_sizes=(64,),
                latent_dim=4,
                likelihood="bernoulli",
                epochs=30,
                train_importance_samples=k,
                random_state=seed,
            ).fit(X_train)
            bounds[k] = vae.set_params(n_importance_samples=100).score(X_test)
        gains.append(bounds[5] - bounds[1])
    assert np.mean(gains) > 0.1


def test_validation_scores_are_the_bound_that_training_maximises(digits):
    X = digits[0][:500]
    vae = VAE(
        hidden_layer_sizes=(32,),
        likelihood="bernoulli",
        early_stopping=False,
        train_importance_samples=5,
        **{**KW, "epochs": 2},
    ).fit(X)
    val = np.random.RandomState(0).permutation(500)[:50]  # the 10% split of fit
    bound = vae.set_params(n_importance_samples=5).score(X[val])
    elbo = vae.set_params(n_importance_samples=1).score(X[val])
    assert vae.validation_scores_[-1] == pytest.approx(bound, rel=1e-5)
    assert elbo != pytest.approx(bound, rel=1e-4)  # the ELBO would fail above


def test_n_importance_samples_is_validated_when_scoring(fitted_vaes, digits):
    vae = fitted_vaes[0].set_params(n_importance_samples=0)
    try:
        with pytest.raises(ValueError, match="n_importance_samples"):
            vae.score_samples(digits[0][:5])
    finally:
        vae.set_params(n_importance_samples=1)


def test_heteroscedastic_floor_is_the_rounding_variance_of_values_on_a_grid():
    rng = np.random.default_rng(0)
    halves = rng.integers(0, 5, 500) * 0.5  # values recorded in steps of 0.5
    x = torch.tensor(np.c_[halves, rng.normal(size=500)], dtype=torch.float32)
    x[::7, 0] = float("nan")  # gaps do not count as values
    likelihood = HeteroscedasticGaussian(2)
    offset = likelihood.initialise(x)
    floor = likelihood.min_log_var.exp().tolist()
    assert floor[0] == pytest.approx(0.5**2 / 12, rel=1e-4)
    # a continuous feature keeps the floor relative to the data's variance
    data_variance = float(x[~x.isnan()].var(correction=0))
    assert floor[1] == pytest.approx(VARIANCE_FLOOR * data_variance, rel=1e-4)
    # both start at the data's variance, above their floors
    raw = offset[2:]
    start = likelihood.min_log_var + F.softplus(raw - likelihood.min_log_var)
    assert start.exp().tolist() == pytest.approx([data_variance] * 2, rel=1e-4)


def test_scores_of_counts_generalise_to_held_out_rows(digits_split):
    # pixel intensities are counts 0..16: a density tighter than their
    # rounding would score training rows far above held-out ones
    X_train, X_test = digits_split[0] * 16, digits_split[1] * 16
    vae = VAE(epochs=30, random_state=0).fit(X_train)
    assert vae.score(X_train) - vae.score(X_test) < 6.5  # 8.4 without the grid
