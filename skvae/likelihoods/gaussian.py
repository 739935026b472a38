"""Diagonal Gaussian with a learned variance per feature."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import (
    LOG_2PI,
    Likelihood,
    column_moments,
    log_data_variance,
    missing_entries,
)


class GaussianLikelihood(Likelihood):
    """Diagonal Gaussian ``p(x|z)`` with a learned variance per feature.

    Learning the variance calibrates the balance between reconstruction and
    KL term (no hand-tuned ``beta`` for the data's scale) and makes the score
    a real log-density. A soft floor at 1e-3 of the data's standard deviation
    keeps constant features from driving the variance, and the scores, to
    infinity.
    """

    name = "gaussian"
    standardised = True

    def __init__(self, n_features):
        super().__init__(n_features)
        self.log_var = nn.Parameter(torch.zeros(n_features))
        self.register_buffer("min_log_var", torch.tensor(-13.8))

    @torch.no_grad()
    def initialise(self, x):
        """Start at the data's overall variance, floored at 1e-3 of its std;
        decoder outputs are offsets from the mean training sample."""
        log_var = log_data_variance(x)
        self.log_var.fill_(log_var)
        self.min_log_var.fill_(log_var + 2 * math.log(1e-3))
        return column_moments(x)[0].nan_to_num(0.0)

    def log_variance(self):
        return self.min_log_var + F.softplus(self.log_var - self.min_log_var)

    def feature_log_prob(self, x, out):
        log_var = self.log_variance()
        missing = missing_entries(x)
        squares = out.sub_(x)
        if missing is not None:
            squares.masked_fill_(missing, 0.0)
        terms = -0.5 * (squares.square_().mul_(torch.exp(-log_var)) + log_var + LOG_2PI)
        return terms if missing is None else terms.masked_fill_(missing, 0.0)

    def log_prob(self, x, out):
        """The rows' sums of ``feature_log_prob``, as one product.

        The squares are made in out's memory (a new tensor of its size costs
        more than the arithmetic), then weighted and summed by a matrix
        product; a sum over all features, it stays float32 under autocast.
        The normalising constant is that of all features less that of a
        row's missing ones.
        """
        log_var = self.log_variance()
        missing = missing_entries(x)
        with torch.autocast(x.device.type, enabled=False):
            squares = out.sub_(x)
            if missing is not None:
                squares.masked_fill_(missing, 0.0)
            terms = squares.square_() @ torch.exp(-log_var)
            terms = terms + log_var.sum() + x.shape[-1] * LOG_2PI
            if missing is not None:
                terms = terms - missing.to(log_var.dtype) @ (log_var + LOG_2PI)
        return -0.5 * terms

    def mean(self, out):
        return out
