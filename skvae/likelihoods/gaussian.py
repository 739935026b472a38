"""Diagonal Gaussian with a learned variance per feature."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import Likelihood

LOG_2PI = math.log(2 * math.pi)


class GaussianLikelihood(Likelihood):
    """Diagonal Gaussian ``p(x|z)`` with a learned variance per feature.

    Learning the variance calibrates the balance between reconstruction and
    KL term (no hand-tuned ``beta`` for the data's scale) and makes the score
    a real log-density. A soft floor at 1e-3 of the data's standard deviation
    keeps constant features from driving the variance, and the scores, to
    infinity.
    """

    name = "gaussian"

    def __init__(self, n_features):
        super().__init__(n_features)
        self.log_var = nn.Parameter(torch.zeros(n_features))
        self.register_buffer("min_log_var", torch.tensor(-13.8))

    @torch.no_grad()
    def initialise(self, x):
        """Start at the data's overall variance, floored at 1e-3 of its std;
        decoder outputs are offsets from the mean training sample."""
        log_var = torch.log(x.var(correction=0).clamp_min(1e-12))
        self.log_var.fill_(float(log_var))
        self.min_log_var.fill_(float(log_var) + 2 * math.log(1e-3))
        return x.mean(0)

    def log_variance(self):
        return self.min_log_var + F.softplus(self.log_var - self.min_log_var)

    def feature_log_prob(self, x, out):
        log_var = self.log_variance()
        squares = out.sub_(x).square_().mul_(torch.exp(-log_var))
        return -0.5 * (squares + log_var + LOG_2PI)

    def log_prob(self, x, out):
        """The rows' sums of ``feature_log_prob``, as one product.

        The squares are made in out's memory (a new tensor of its size costs
        more than the arithmetic), then weighted and summed by a matrix
        product; a sum over all features, it stays float32 under autocast.
        The normalising constant is the same for every row.
        """
        log_var = self.log_variance()
        with torch.autocast(x.device.type, enabled=False):
            squares = out.sub_(x).square_() @ torch.exp(-log_var)
        return -0.5 * (squares + log_var.sum() + x.shape[-1] * LOG_2PI)

    def mean(self, out):
        return out
