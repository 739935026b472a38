"""The likelihood contract: ``p(x|z)`` from the decoder's outputs.

A likelihood is a small torch module. The decoder emits ``n_outputs``
values per row (``outputs_per_feature`` per feature, parameter-major: the
j-th parameter of every feature, then the next); the likelihood turns them
into per-feature log-probabilities and a data-space mean. Subclasses
register themselves under their ``name``, the value of the estimators'
``likelihood`` parameter.

Rows may have missing entries, NaN in ``x``: their log-probabilities are 0
(the likelihood of a row is that of its observed entries), and no gradient
flows through them.
"""

import math

import torch
from torch import nn

LOG_2PI = math.log(2 * math.pi)

LIKELIHOODS = {}


def missing_entries(x):
    """The mask of the missing entries (NaN) of ``x``, or None if it has none.

    Complete rows then skip the masking. On the CPU a sum, in which a NaN
    would propagate, answers in one fast pass; on a GPU, where the answer
    would make the host wait for the device, the mask is always made.
    """
    if x.device.type != "cuda" and not torch.isnan(x.sum()):
        return None
    return x.isnan()


def column_moments(x):
    """Mean and variance (``ddof=0``) of each column's observed entries, NaN
    where a column has none; complete data takes one pass and makes no copy."""
    if x.numel() == 0:  # no rows or no columns (a table of categories only)
        none = x.new_full(x.shape[1:], math.nan)
        return none, none
    if missing_entries(x) is None:
        variance, mean = torch.var_mean(x, dim=0, correction=0)
        return mean, variance
    mean = x.nanmean(0)
    return mean, (x - mean).square().nanmean(0)


def log_data_variance(x):
    """The log of the variance of all observed entries of ``x`` together
    (0 if there are none): the scale a Gaussian starts from and floors at."""
    _, variance = column_moments(x.reshape(-1, 1))
    variance = variance.nan_to_num(1.0)
    return float(torch.log(variance.clamp_min(1e-12)))


class Likelihood(nn.Module):
    """Base class of the decoder distributions ``p(x|z)``.

    Parameters
    ----------
    n_features : int
        Values per data row.
    """

    #: the value of the ``likelihood`` parameter that selects the subclass
    name = None
    #: decoder outputs per feature (e.g. 2 for a mean and a variance)
    outputs_per_feature = 1
    #: whether a dense model standardises numeric columns for it (a
    #: location-scale family); the model then adds the scaling's Jacobian
    standardised = False
    #: the share of each batch that ``trim_fraction='auto'`` down-weights:
    #: 0 where down-weighting the worst-fitted rows would shrink a scale
    #: shared by all rows, and with it the held-out likelihood
    auto_trim_fraction = 0.0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # a subclass that names itself, not its parent
            LIKELIHOODS[cls.name] = cls

    def __init__(self, n_features):
        super().__init__()
        self.n_features = n_features

    @property
    def n_outputs(self):
        """Decoder outputs per row."""
        return self.outputs_per_feature * self.n_features

    def initialise(self, x):
        """Set what the likelihood learns from a data sample ``x``; then return
        the decoder offset, ``(n_outputs,)`` values that the decoder's output
        starts from (an untrained model then predicts the mean sample)."""
        raise NotImplementedError

    def feature_log_prob(self, x, out):
        """``log p(x_j|z)`` of each feature, shape ``(..., n_features)``;
        0 where ``x`` is missing (NaN).

        ``out`` holds the decoder's outputs for the rows ``x``; it may be
        overwritten.
        """
        raise NotImplementedError

    def log_prob(self, x, out):
        """``log p(x|z)`` of each row: the sum of ``feature_log_prob``.

        Subclasses may override it with a faster sum of the same terms.
        """
        return self.feature_log_prob(x, out).sum(-1)

    def mean(self, out):
        """The mean of ``p(x|z)``, ``(..., n_features)``, for decoding."""
        raise NotImplementedError

    def expectation(self, out):
        """What imputation averages over posterior draws (the mean here;
        category probabilities for categorical columns)."""
        return self.mean(out)

    def point(self, expectation):
        """The imputed values, ``(..., n_features)``, from an average of
        ``expectation``."""
        return expectation

    @classmethod
    def check_values(cls, X):
        """Refuse data outside the support, with a message that says what to do."""
