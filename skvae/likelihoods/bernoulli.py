"""Bernoulli on values in [0, 1], e.g. pixel intensities."""

import torch
import torch.nn.functional as F

from ..training.data import value_range
from .base import Likelihood, column_moments, missing_entries


class BernoulliLikelihood(Likelihood):
    """Bernoulli ``p(x|z)`` on values in [0, 1]; the decoder emits logits."""

    name = "bernoulli"

    def initialise(self, x):
        """Decoder logits are offsets from the log-odds of the mean sample."""
        return torch.logit(column_moments(x)[0].nan_to_num(0.5), eps=1e-4)

    def feature_log_prob(self, x, out):
        missing = missing_entries(x)
        if missing is None:
            return F.binary_cross_entropy_with_logits(out, x, reduction="none").neg_()
        terms = F.binary_cross_entropy_with_logits(
            out, x.masked_fill(missing, 0.0), reduction="none"
        )
        return terms.neg_().masked_fill_(missing, 0.0)

    def mean(self, out):
        return torch.sigmoid(out)

    @classmethod
    def check_values(cls, X):
        low, high = value_range(X) if X.size else (0, 0)
        if low < 0 or high > 1:
            raise ValueError(
                f"likelihood='bernoulli' needs X in [0, 1], but X has values in "
                f"[{low:.4g}, {high:.4g}]. Scale X with "
                f"sklearn.preprocessing.MinMaxScaler(clip=True) (clip keeps data "
                f"scored after fit, such as GridSearchCV's held-out folds, in "
                f"range), or use likelihood='gaussian'."
            )
