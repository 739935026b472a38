"""The deterministic denoising autoencoder."""

import torch
from torch import nn

from .base import add_offset


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

    @property
    def widest(self):
        return self.encoder.widest

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
