"""The variational autoencoder on any backbone and any likelihood."""

import math

import torch
from torch import nn

from .autoencoder import corrupt
from .base import add_offset, add_terms
from .noise import row_keys, row_noise

# posterior samples per decoder pass when scoring by importance sampling
IW_BLOCK = 128


class VariationalAutoencoder(nn.Module):
    """Gaussian-posterior VAE on any backbone (Kingma & Welling, 2014).

    ``columns`` (``columns.py``) standardises rows and makes the encoder's
    input; likelihoods see standardised rows, and the scaling's Jacobian
    turns their log-densities into ones of the data in its units. Missing
    entries (NaN) drop out of the likelihood (Mattei & Frellsen, 2019).
    ``prior`` (``priors.py``) is ``p(z)``. In training, ``smoothing`` adds
    Gaussian noise of that many standard deviations to the numeric values
    of standardised columns: the model then fits the data's density
    smoothed by that kernel, which keeps a per-sample variance off its
    floor at values that many rows share.
    """

    def __init__(
        self, encoder, decoder, latent_dim, likelihood, columns, prior, smoothing=0.0
    ):
        super().__init__()
        self.columns = columns
        self.encoder = encoder
        self.posterior = nn.Linear(encoder.out_features, 2 * latent_dim)
        self.decoder = decoder  # emits likelihood.n_outputs values per row
        self.likelihood = likelihood
        self.prior = prior
        self.register_buffer("offset", torch.zeros(likelihood.n_outputs))
        self.latent_dim = latent_dim
        self.smoothing = smoothing

    @property
    def widest(self):
        return self.encoder.widest

    def encode(self, x):
        """Posterior means and log-variances of rows ``x`` (data units)."""
        return self._posterior(self.columns.standardise(x))

    def _posterior(self, x):
        """``encode`` for standardised rows."""
        h = self.encoder(self.columns.inputs(x))
        mean, log_var = self.posterior(h).float().chunk(2, dim=-1)
        return mean, log_var.clamp(-30.0, 20.0)

    def embed(self, x):
        return self.encode(x)[0]

    def decode(self, z):
        return self.columns.unstandardise(self.likelihood.mean(self._decoder_out(z)))

    def _decoder_out(self, z):
        # starting from the mean sample, an untrained model is already sensible
        return add_offset(self.decoder(z), self.offset)

    def _elbo_terms(self, x, eps=None):
        """Log-likelihood at ``z = mean + std * eps`` and the analytic KL term."""
        x = self.columns.standardise(x)
        mean, log_var = self._posterior(x)
        if eps is None:
            eps = torch.randn_like(mean)
        z = mean + torch.exp(0.5 * log_var) * eps
        log_lik = self.likelihood.log_prob(x, self._decoder_out(z))
        kl = self.prior.kl(mean, log_var, z, eps)
        return log_lik + self.columns.log_jacobian(x), kl

    def _draws(self, x, mean, log_var, eps, decode=True):
        """Draws ``z = mean + std * eps`` of shape ``(rows, K, latent_dim)``
        for ``eps`` of that shape, and (with ``decode``) their decoder outputs."""
        z = mean[:, None] + torch.exp(0.5 * log_var)[:, None] * eps
        if not decode:
            return z, None
        return z, self._decoder_out(z.flatten(0, 1)).unflatten(0, z.shape[:2])

    def _sample_terms(self, x, mean, log_var, eps, out=None):
        """``log p(x|z)`` and ``log p(z) - log q(z|x)`` for K draws per row.

        ``x`` is standardised; ``eps`` has shape ``(rows, K, latent_dim)``;
        both terms have shape ``(rows, K)``. ``out`` may hold the draws'
        decoder outputs already (they are overwritten).
        """
        z, decoded = self._draws(x, mean, log_var, eps, decode=out is None)
        out = decoded if out is None else out
        log_lik = self.likelihood.log_prob(x[:, None].expand(-1, z.shape[1], -1), out)
        log_lik = log_lik + self.columns.log_jacobian(x)[..., None]
        return log_lik, self.prior.log_ratio(z, eps, log_var[:, None])

    def loss(self, x, kl_weight=1.0, n_samples=1, terms=None):
        """Negative ELBO of each row, or with ``n_samples`` K above 1 the
        negative K-sample importance-weighted bound (IWAE, Burda et al., 2016).

        ``kl_weight`` scales the KL term, or in the IWAE bound the log ratio
        of prior to posterior of each draw (annealed importance weights).
        """
        if self.training and self.smoothing:
            x = self._smoothed(x)
        if n_samples == 1:
            log_lik, kl = self._elbo_terms(x)
            if terms is not None:
                add_terms(terms, reconstruction_nll=-log_lik, kl=kl)
            return kl_weight * kl - log_lik
        x = self.columns.standardise(x)
        mean, log_var = self._posterior(x)
        eps = mean.new_empty((x.shape[0], n_samples, self.latent_dim)).normal_()
        log_lik, log_ratio = self._sample_terms(x, mean, log_var, eps)
        if terms is not None:  # the draws' means; the KL is a Monte Carlo one
            add_terms(terms, reconstruction_nll=-log_lik.mean(1), kl=-log_ratio.mean(1))
        log_weights = log_lik + kl_weight * log_ratio
        return math.log(n_samples) - torch.logsumexp(log_weights, dim=1)

    def _smoothed(self, x):
        """Rows ``x`` with noise of ``smoothing`` standard deviations of each
        numeric column added (in the data's units; gaps stay gaps)."""
        numbers = self.columns.numbers if self.columns.mixed else None
        level = self.smoothing * self.columns.scale
        return corrupt(x, "gaussian", level, None, None, numbers)

    def score(self, x, n_samples=1):
        """Importance-weighted estimate of ``log p(x)`` in nats (Burda et al., 2016).

        With ``n_samples=1`` it is the ELBO, with the prior's KL term (in
        closed form for ``N(0, I)``, less noisy than one importance weight;
        one fixed draw for a mixture); more samples tighten the
        bound towards ``log p(x)``. The posterior draws of a row depend on
        its values only (see ``noise.py``): scores are deterministic and do
        not depend on which rows are scored together. Samples are decoded in
        blocks of ``IW_BLOCK``, so memory does not grow with ``n_samples``.
        """
        keys = row_keys(x)
        if n_samples == 1:
            eps = row_noise(keys, 0, 1, self.latent_dim, x.device)[:, 0]
            log_lik, kl = self._elbo_terms(x, eps)
            return log_lik - kl
        x = self.columns.standardise(x)
        mean, log_var = self._posterior(x)
        log_mean_w = torch.full((x.shape[0],), -math.inf, device=x.device)
        for start in range(0, n_samples, IW_BLOCK):
            size = min(IW_BLOCK, n_samples - start)
            eps = row_noise(keys, start, size, self.latent_dim, x.device)
            log_lik, log_ratio = self._sample_terms(x, mean, log_var, eps)
            block_sum = torch.logsumexp(log_lik + log_ratio, dim=1)
            log_mean_w = torch.logaddexp(log_mean_w, block_sum)
        return log_mean_w - math.log(n_samples)

    def _row_draws(self, x, n_samples):
        """Standardised rows, their posterior, ``n_samples`` draws' noise fixed
        by each row (as in ``score``) and the draws' decoder outputs."""
        eps = row_noise(row_keys(x), 0, n_samples, self.latent_dim, x.device)
        x = self.columns.standardise(x)
        mean, log_var = self._posterior(x)
        _, out = self._draws(x, mean, log_var, eps)
        return x, mean, log_var, eps, out

    def feature_scores(self, x, n_samples=1):
        """Each column's ``E_q[log p(x_j|z)]`` in the data's units, averaged
        over ``n_samples`` posterior draws fixed by the row (as in ``score``);
        NaN where ``x`` is missing. Their sum is the ELBO's reconstruction term.
        """
        x, _, _, _, out = self._row_draws(x, n_samples)
        terms = self.likelihood.feature_log_prob(
            x[:, None].expand(-1, n_samples, -1), out
        ).mean(1)
        if self.columns.standardised:
            terms[:, self.columns.numbers] -= self.columns.scale.log()
        return terms.masked_fill_(x.isnan(), torch.nan)

    def impute(self, x, n_samples):
        """Rows with each missing entry at its conditional mean given the
        observed ones (the most probable category for categorical columns):
        importance-weighted over ``n_samples`` posterior draws (MIWAE's
        estimate, Mattei & Frellsen, 2019). Observed entries stay."""
        x_std, mean, log_var, eps, out = self._row_draws(x, n_samples)
        expected = self.likelihood.expectation(out.clone())
        log_lik, log_ratio = self._sample_terms(x_std, mean, log_var, eps, out)
        weights = torch.softmax(log_lik + log_ratio, dim=1)
        average = (weights[..., None] * expected).sum(1)
        values = self.columns.unstandardise(self.likelihood.point(average))
        return torch.where(x.isnan(), values, x)

    @torch.no_grad()
    def initialise(self, x):
        self.columns.initialise(x)
        self.offset.copy_(self.likelihood.initialise(self.columns.standardise(x)))
