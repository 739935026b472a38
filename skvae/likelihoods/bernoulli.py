"""Bernoulli on values in [0, 1], e.g. pixel intensities."""

import torch
import torch.nn.functional as F

from .base import Likelihood


class BernoulliLikelihood(Likelihood):
    """Bernoulli ``p(x|z)`` on values in [0, 1]; the decoder emits logits."""

    name = "bernoulli"

    def initialise(self, x):
        """Decoder logits are offsets from the log-odds of the mean sample."""
        return torch.logit(x.mean(0), eps=1e-4)

    def feature_log_prob(self, x, out):
        return -F.binary_cross_entropy_with_logits(out, x, reduction="none")

    def mean(self, out):
        return torch.sigmoid(out)

    @classmethod
    def check_values(cls, X):
        if X.size and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                f"likelihood='bernoulli' needs X in [0, 1], but X has values in "
                f"[{X.min():.4g}, {X.max():.4g}]. Scale X with "
                f"sklearn.preprocessing.MinMaxScaler(clip=True) (clip keeps data "
                f"scored after fit, such as GridSearchCV's held-out folds, in "
                f"range), or use likelihood='gaussian'."
            )
