"""Gaussian whose variance the decoder predicts, per sample and feature."""

import math

import torch
import torch.nn.functional as F

from .base import LOG_2PI, Likelihood, log_data_variance, missing_entries

# the least variance, relative to the data's overall variance
VARIANCE_FLOOR = 1e-3


class HeteroscedasticGaussian(Likelihood):
    """``N(mean(z), var(z))`` per feature: the decoder predicts both.

    One variance per feature (``'gaussian'``) makes the model as unsure of
    a feature everywhere. Here the variance follows the latent code: tight
    where the data is tight, wide where it spreads, so the density adapts
    to each region of the data, as a nearest-neighbour density does. The
    variance stays above 1e-3 of the data's overall variance (3% of a
    standardised column's spread): without a floor, a model could claim
    near certainty about training values and its likelihood would grow
    without bound.
    """

    name = "heteroscedastic"
    outputs_per_feature = 2
    standardised = True

    def __init__(self, n_features):
        super().__init__(n_features)
        self.register_buffer("min_log_var", torch.tensor(math.log(VARIANCE_FLOOR)))

    @torch.no_grad()
    def initialise(self, x):
        """Decoder outputs start at the mean sample and the data's variance."""
        log_var = log_data_variance(x)
        self.min_log_var.fill_(log_var + math.log(VARIANCE_FLOOR))
        # the decoder's raw output r maps to floor + softplus(r - floor),
        # which is log_var for this r
        raw = log_var + math.log1p(-VARIANCE_FLOOR)
        mean = x.nanmean(0).nan_to_num(0.0)
        return torch.cat([mean, torch.full_like(mean, raw)])

    def feature_log_prob(self, x, out):
        mean, raw = out.unflatten(-1, (2, self.n_features)).unbind(-2)
        log_var = self.min_log_var + F.softplus(raw - self.min_log_var)
        missing = missing_entries(x)
        if missing is not None:  # finite values where missing: no NaN gradient
            x = x.nan_to_num(0.0)
        squares = (x - mean).square()
        terms = -0.5 * (squares * torch.exp(-log_var) + log_var + LOG_2PI)
        return terms if missing is None else terms.masked_fill(missing, 0.0)

    def mean(self, out):
        return out[..., : self.n_features]
