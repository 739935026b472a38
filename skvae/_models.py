"""Torch models: a backbone plus latent heads, a loss and a per-sample score.

Every model offers the same four methods, which is all the estimator core
(``_base.py``) relies on:

- ``embed(x)``: the deterministic code of each row (posterior mean for a VAE);
- ``decode(z)``: the data-space mean for each code;
- ``loss(x, terms=None, **settings)``: the training objective of each row
  of a batch (the estimator core averages it); given a dict as ``terms``
  (only when training is logged), a model whose objective has several
  terms adds each term's sum over the batch's rows to it, as a detached
  tensor (``add_terms``);
- ``score(x)``: a per-sample score in which higher means more normal (VAEs
  take ``n_samples``, the number of importance samples).

Training with ``mixed_precision`` runs ``loss`` under bfloat16 autocast. The
networks' outputs are then bfloat16; the models take them to float32
(``add_offset`` does it for decoders) and compute every loss term in float32.

Decoder outputs are as large as the batch: the models add the offset and
take reconstruction errors in their memory, not in new tensors (see
``add_offset``).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._noise import row_keys, row_noise

_LOG_2PI = math.log(2 * math.pi)
# posterior samples per decoder pass when scoring by importance sampling
IW_BLOCK = 128


def add_terms(terms, **rows):
    """Add the sum over rows of each loss term to the dict ``terms``.

    The sums stay detached tensors on the device: training reads them once
    per epoch, not per batch.
    """
    for name, values in rows.items():
        batch_sum = values.detach().sum()
        terms[name] = terms[name] + batch_sum if name in terms else batch_sum


def add_offset(decoded, offset):
    """``decoded + offset`` in float32, in the memory of ``decoded``.

    Decoders end in a linear layer or a convolution, whose gradient does not
    need their output; reusing it saves a tensor the size of the batch, whose
    first writes cost more than the addition. Under autocast the bfloat16
    output is copied to float32 first.
    """
    return decoded.float().add_(offset)


class GaussianLikelihood(nn.Module):
    """Diagonal Gaussian ``p(x|z)`` with a learned variance per feature.

    Learning the variance calibrates the balance between reconstruction and
    KL term (no hand-tuned ``beta`` for the data's scale) and makes the score
    a real log-density. A soft floor at 1e-3 of the data's standard deviation
    keeps constant features from driving the variance, and the scores, to
    infinity.
    """

    def __init__(self, n_features):
        super().__init__()
        self.log_var = nn.Parameter(torch.zeros(n_features))
        self.register_buffer("min_log_var", torch.tensor(-13.8))

    @staticmethod
    def decoder_offset(x):
        """Decoder outputs are offsets from the mean training sample."""
        return x.mean(0)

    @torch.no_grad()
    def initialise(self, x):
        """Start at the data's overall variance; floor at 1e-3 of its std."""
        log_var = torch.log(x.var(correction=0).clamp_min(1e-12))
        self.log_var.fill_(float(log_var))
        self.min_log_var.fill_(float(log_var) + 2 * math.log(1e-3))

    def log_variance(self):
        return self.min_log_var + F.softplus(self.log_var - self.min_log_var)

    def log_prob(self, x, out):
        """Log-density of each row of ``x``; overwrites ``out``."""
        log_var = self.log_variance()
        # the squares are made in out's memory (a new tensor of its size costs
        # more than the arithmetic), then weighted and summed as one product;
        # a sum over all features, it stays float32 under autocast. The
        # normalising constant is the same for every row.
        with torch.autocast(x.device.type, enabled=False):
            squares = out.sub_(x).square_() @ torch.exp(-log_var)
        return -0.5 * (squares + log_var.sum() + x.shape[-1] * _LOG_2PI)

    def mean(self, out):
        return out


class BernoulliLikelihood(nn.Module):
    """Bernoulli ``p(x|z)`` on values in [0, 1]; the decoder emits logits."""

    @staticmethod
    def decoder_offset(x):
        """Decoder logits are offsets from the log-odds of the mean sample."""
        return torch.logit(x.mean(0), eps=1e-4)

    def initialise(self, x):
        """Nothing to fit from the data."""

    def log_prob(self, x, out):
        return -F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(-1)

    def mean(self, out):
        return torch.sigmoid(out)


LIKELIHOODS = {"gaussian": GaussianLikelihood, "bernoulli": BernoulliLikelihood}


class VariationalAutoencoder(nn.Module):
    """Gaussian-posterior VAE on any backbone (Kingma & Welling, 2014)."""

    def __init__(self, encoder, decoder, n_features, latent_dim, likelihood):
        super().__init__()
        self.encoder = encoder
        self.posterior = nn.Linear(encoder.out_features, 2 * latent_dim)
        self.decoder = decoder
        self.likelihood = likelihood
        self.register_buffer("offset", torch.zeros(n_features))
        self.latent_dim = latent_dim

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
        log_lik = self.likelihood.log_prob(x[:, None].expand_as(out), out)
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
        its values only (see ``_noise.py``): scores are deterministic and do
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
        self.likelihood.initialise(x)
        self.offset.copy_(self.likelihood.decoder_offset(x))


def corrupt(x, noise, level, low, high):
    """Noisy copy of ``x``: additive Gaussian, masking or salt-and-pepper."""
    if noise == "gaussian":
        return x + level * torch.randn_like(x)
    hit = torch.rand_like(x) < level
    if noise == "masking":
        return x.masked_fill(hit, 0.0)
    salt = torch.rand_like(x) < 0.5
    return torch.where(hit, torch.where(salt, high, low), x)


class Autoencoder(nn.Module):
    """Deterministic autoencoder trained to undo ``corrupt`` (Vincent et al., 2008)."""

    def __init__(self, encoder, decoder, n_features, latent_dim, noise, noise_level):
        super().__init__()
        self.encoder = encoder
        self.code = nn.Linear(encoder.out_features, latent_dim)
        self.decoder = decoder
        self.noise = noise
        self.noise_level = noise_level
        # salt-and-pepper noise sets values to each feature's observed extremes
        self.register_buffer("low", torch.zeros(n_features))
        self.register_buffer("high", torch.ones(n_features))
        self.register_buffer("offset", torch.zeros(n_features))

    def embed(self, x):
        return self.code(self.encoder(x))

    def decode(self, z):
        return add_offset(self.decoder(z), self.offset)  # from the mean sample

    def _squared_error(self, x_in, x):
        """Mean squared error over features of each row's reconstruction."""
        return self.decode(self.embed(x_in)).sub_(x).square_().mean(-1)

    def loss(self, x, terms=None):
        """Mean squared error of each reconstructed noisy row: a single term."""
        noisy = corrupt(x, self.noise, self.noise_level, self.low, self.high)
        return self._squared_error(noisy, x)

    def score(self, x):
        """Negative mean squared reconstruction error over features."""
        return -self._squared_error(x, x)

    @torch.no_grad()
    def initialise(self, x):
        self.low.copy_(x.min(0).values)
        self.high.copy_(x.max(0).values)
        self.offset.copy_(x.mean(0))
