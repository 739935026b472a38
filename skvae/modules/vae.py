"""The variational autoencoder on any backbone and any likelihood."""

import math

import torch
from torch import nn

from .base import add_offset, add_terms
from .noise import row_keys, row_noise

# posterior samples per decoder pass when scoring by importance sampling
IW_BLOCK = 128


class VariationalAutoencoder(nn.Module):
    """Gaussian-posterior VAE on any backbone (Kingma & Welling, 2014)."""

    def __init__(self, encoder, decoder, latent_dim, likelihood):
        super().__init__()
        self.encoder = encoder
        self.posterior = nn.Linear(encoder.out_features, 2 * latent_dim)
        self.decoder = decoder  # emits likelihood.n_outputs values per row
        self.likelihood = likelihood
        self.register_buffer("offset", torch.zeros(likelihood.n_outputs))
        self.latent_dim = latent_dim

    @property
    def widest(self):
        return self.encoder.widest

    def encode(self, x):
        mean, log_var = self.posterior(self.encoder(x)).float().chunk(2, dim=-1)
        return mean, log_var.clamp(-30.0, 20.0)

    def embed(self, x):
        return self.encode(x)[0]

    def decode(self, z):
        return self.likelihood.mean(self._decoder_out(z))

    def _decoder_out(self, z):
        # starting from the mean sample, an untrained model is already sensible
        return add_offset(self.decoder(z), self.offset)

    def _elbo_terms(self, x, eps=None):
        """Log-likelihood at ``z = mean + std * eps`` and the analytic KL term."""
        mean, log_var = self.encode(x)
        if eps is None:
            eps = torch.randn_like(mean)
        z = mean + torch.exp(0.5 * log_var) * eps
        log_lik = self.likelihood.log_prob(x, self._decoder_out(z))
        kl = 0.5 * (mean**2 + log_var.exp() - 1.0 - log_var).sum(-1)
        return log_lik, kl

    def _sample_terms(self, x, mean, log_var, eps):
        """``log p(x|z)`` and ``log p(z) - log q(z|x)`` for K draws per row.

        ``eps`` has shape ``(rows, K, latent_dim)``; so have the draws
        ``z = mean + std * eps``, and both terms have shape ``(rows, K)``.
        """
        z = mean[:, None] + torch.exp(0.5 * log_var)[:, None] * eps
        out = self._decoder_out(z.flatten(0, 1)).unflatten(0, z.shape[:2])
        log_lik = self.likelihood.log_prob(x[:, None].expand(-1, z.shape[1], -1), out)
        # the 2*pi terms cancel
        log_ratio = -0.5 * (z**2 - eps**2 - log_var[:, None]).sum(-1)
        return log_lik, log_ratio

    def loss(self, x, kl_weight=1.0, n_samples=1, terms=None):
        """Negative ELBO of each row, or with ``n_samples`` K above 1 the
        negative K-sample importance-weighted bound (IWAE, Burda et al., 2016).

        ``kl_weight`` scales the KL term, or in the IWAE bound the log ratio
        of prior to posterior of each draw (annealed importance weights).
        """
        if n_samples == 1:
            log_lik, kl = self._elbo_terms(x)
            if terms is not None:
                add_terms(terms, reconstruction_nll=-log_lik, kl=kl)
            return kl_weight * kl - log_lik
        mean, log_var = self.encode(x)
        eps = mean.new_empty((x.shape[0], n_samples, self.latent_dim)).normal_()
        log_lik, log_ratio = self._sample_terms(x, mean, log_var, eps)
        if terms is not None:  # the draws' means; the KL is a Monte Carlo one
            add_terms(terms, reconstruction_nll=-log_lik.mean(1), kl=-log_ratio.mean(1))
        log_weights = log_lik + kl_weight * log_ratio
        return math.log(n_samples) - torch.logsumexp(log_weights, dim=1)

    def score(self, x, n_samples=1):
        """Importance-weighted estimate of ``log p(x)`` in nats (Burda et al., 2016).

        With ``n_samples=1`` it is the ELBO, with the KL term in closed form
        (less noisy than one importance weight); more samples tighten the
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
        mean, log_var = self.encode(x)
        log_mean_w = torch.full((x.shape[0],), -math.inf, device=x.device)
        for start in range(0, n_samples, IW_BLOCK):
            size = min(IW_BLOCK, n_samples - start)
            eps = row_noise(keys, start, size, self.latent_dim, x.device)
            log_lik, log_ratio = self._sample_terms(x, mean, log_var, eps)
            block_sum = torch.logsumexp(log_lik + log_ratio, dim=1)
            log_mean_w = torch.logaddexp(log_mean_w, block_sum)
        return log_mean_w - math.log(n_samples)

    @torch.no_grad()
    def initialise(self, x):
        self.offset.copy_(self.likelihood.initialise(x))
