"""The deterministic denoising autoencoder."""

import torch
from torch import nn

from ..likelihoods.base import missing_entries
from .base import add_offset


def corrupt(x, noise, level, low, high, numbers):
    """Noisy copy of rows ``x``.

    'masking' hides a fraction ``level`` of the entries as missing (NaN),
    so that the encoder sees them as it sees real gaps (Lall & Robinson,
    2022); 'gaussian' and 'salt_pepper' change the numeric columns
    ``numbers`` only (all columns where it is None).
    """
    if noise == "masking":
        return x.masked_fill(torch.rand_like(x) < level, torch.nan)
    values = x if numbers is None else x[..., numbers]
    if noise == "gaussian":
        values = values + level * torch.randn_like(values)
    else:
        hit = (torch.rand_like(values) < level) & ~values.isnan()  # gaps stay
        salt = torch.rand_like(values) < 0.5
        values = torch.where(hit, torch.where(salt, high, low), values)
    if numbers is None:
        return values
    x = x.clone()
    x[..., numbers] = values
    return x


class Autoencoder(nn.Module):
    """Deterministic autoencoder trained to undo ``corrupt`` (Vincent et al., 2008).

    ``errors`` gives each column's negated squared error (a likelihood's
    interface, see ``likelihoods/squared_error.py``); ``columns``
    (``columns.py``) shows rows to the encoder. Everything is in the data's
    units: ``SquaredError`` asks for no standardisation.
    """

    def __init__(
        self, encoder, decoder, latent_dim, errors, columns, noise, noise_level
    ):
        super().__init__()
        self.columns = columns
        self.encoder = encoder
        self.code = nn.Linear(encoder.out_features, latent_dim)
        self.decoder = decoder
        self.errors = errors
        self.noise = noise
        self.noise_level = noise_level
        # salt-and-pepper noise sets values to each feature's observed extremes
        n_numbers = len(columns.numbers)
        self.register_buffer("low", torch.zeros(n_numbers))
        self.register_buffer("high", torch.ones(n_numbers))
        self.register_buffer("offset", torch.zeros(errors.n_outputs))

    @property
    def widest(self):
        return self.encoder.widest

    def embed(self, x):
        return self.code(self.encoder(self.columns.inputs(x)))

    def _decoder_out(self, z):
        return add_offset(self.decoder(z), self.offset)  # from the mean sample

    def decode(self, z):
        return self.errors.mean(self._decoder_out(z))

    def _feature_terms(self, x_in, x):
        """Minus each column's squared error of the reconstruction of ``x_in``
        against rows ``x``; 0 where ``x`` is missing."""
        return self.errors.feature_log_prob(x, self._decoder_out(self.embed(x_in)))

    def _squared_error(self, x_in, x):
        """Mean squared error over the observed columns of each row (0 for none)."""
        terms = self._feature_terms(x_in, x)
        missing = missing_entries(x)
        if missing is None:
            return -terms.mean(-1)
        return -terms.sum(-1) / (~missing).sum(-1).clamp_min(1)

    def loss(self, x, terms=None):
        """Mean squared error of each reconstructed noisy row: a single term."""
        numbers = self.columns.numbers if self.columns.mixed else None
        noisy = corrupt(x, self.noise, self.noise_level, self.low, self.high, numbers)
        return self._squared_error(noisy, x)

    def score(self, x):
        """Negative mean squared reconstruction error over observed columns."""
        return -self._squared_error(x, x)

    def feature_scores(self, x):
        """Minus each column's squared error (the Brier score for categorical
        columns); NaN where ``x`` is missing."""
        return self._feature_terms(x, x).masked_fill_(x.isnan(), torch.nan)

    def impute(self, x):
        """Rows with each missing entry reconstructed from the observed ones."""
        return torch.where(x.isnan(), self.decode(self.embed(x)), x)

    @torch.no_grad()
    def initialise(self, x):
        numbers = x[:, self.columns.numbers]
        low = numbers.nan_to_num(torch.inf).min(0).values
        high = numbers.nan_to_num(-torch.inf).max(0).values
        self.low.copy_(torch.where(low.isfinite(), low, 0.0))
        self.high.copy_(torch.where(high.isfinite(), high, 0.0))
        self.offset.copy_(self.errors.initialise(x))
