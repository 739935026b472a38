"""Gaussian whose variance the decoder predicts, per sample and feature."""

import math

import torch
import torch.nn.functional as F

from .base import (
    LOG_2PI,
    Likelihood,
    column_moments,
    log_data_variance,
    missing_entries,
)

# the least variance, relative to the data's overall variance
VARIANCE_FLOOR = 1e-3
# values grid_spacing sorts at once
_SORT_ELEMENTS = 2**20


class HeteroscedasticGaussian(Likelihood):
    """``N(mean(z), var(z))`` per feature: the decoder predicts both.

    One variance per feature (``'gaussian'``) makes the model as unsure of
    a feature everywhere. Here the variance follows the latent code: tight
    where the data is tight, wide where it spreads, so the density adapts
    to each region of the data, as a nearest-neighbour density does.

    Without a floor, a model could claim near certainty about training
    values and its likelihood would grow without bound. The variance stays
    above 1e-3 of the data's overall variance (3% of a standardised
    column's spread), and above ``step**2 / 12`` for a feature whose values
    lie on a grid of spacing ``step`` (counts, integers, rounded
    measurements): the variance of the rounding, below which the density
    would claim a precision the recorded values do not have.
    """

    name = "heteroscedastic"
    outputs_per_feature = 2
    standardised = True
    # each row has its own variance, which down-weighting the worst-fitted
    # rows leaves to them: outliers in the training data go unlearned
    auto_trim_fraction = 0.1

    def __init__(self, n_features):
        super().__init__(n_features)
        floor = torch.full((n_features,), math.log(VARIANCE_FLOOR))
        self.register_buffer("min_log_var", floor)

    @torch.no_grad()
    def initialise(self, x):
        """Decoder outputs start at the mean sample and the data's variance
        (or twice a feature's floor, where that is more)."""
        log_var = log_data_variance(x)
        rounding = grid_spacing(x).square() / 12
        self.min_log_var.copy_(
            rounding.clamp_min(math.exp(log_var) * VARIANCE_FLOOR).log()
        )
        # the decoder's raw output r maps to floor + softplus(r - floor):
        # invert that for the starting log-variance
        above_floor = (log_var - self.min_log_var).clamp_min(math.log(2))
        raw = self.min_log_var + torch.log(torch.expm1(above_floor))
        mean = column_moments(x)[0].nan_to_num(0.0)
        return torch.cat([mean, raw])

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


def grid_spacing(x):
    """Per column, the least gap between distinct observed values of ``x``:
    the spacing of the grid the values lie on (0 for a constant column).
    Continuous values have gaps near 0, which leaves their floor as it is."""
    # a few columns at a time: sorting makes copies and int64 indices, which
    # for a whole 10,000-row sample of wide data would be hundreds of MB
    block = max(1, _SORT_ELEMENTS // max(1, len(x)))
    return torch.cat([_least_gaps(part) for part in x.split(block, dim=1)])


def _least_gaps(x):
    ordered = x.nan_to_num(math.inf).sort(dim=0).values
    # the appended inf makes a gap (left out below) even for a single row
    gaps = ordered.diff(dim=0, append=torch.full_like(ordered[:1], math.inf))
    gaps = gaps.where((gaps > 0) & gaps.isfinite(), math.inf).amin(dim=0)
    return gaps.where(gaps.isfinite(), 0.0)
