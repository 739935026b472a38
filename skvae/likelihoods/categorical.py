"""Categorical ``p(x_j|z)`` for columns of category codes."""

import math

import torch
from torch import nn

from .base import Likelihood


class CategoricalLikelihood(Likelihood):
    """One categorical distribution per column; the decoder emits one logit
    per category of each column, column after column.

    Parameters
    ----------
    cardinalities : list of int
        The number of categories of each column; ``x`` holds codes
        ``0..K-1`` (as floats), NaN where missing, -1 for a category not
        seen in ``fit``, which scores as the column's least likely one.
    """

    def __init__(self, cardinalities):
        super().__init__(len(cardinalities))
        self.cardinalities = list(cardinalities)
        widest = max(self.cardinalities)
        # where each (column, category) slot reads its logit; the padding of
        # columns with fewer categories reads a -inf appended to the logits
        slots = torch.full((self.n_features, widest), sum(self.cardinalities))
        start = 0
        for j, k in enumerate(self.cardinalities):
            slots[j, :k] = torch.arange(start, start + k)
            start += k
        self.register_buffer("slots", slots.flatten(), persistent=False)
        self.widest = widest

    @property
    def n_outputs(self):
        return sum(self.cardinalities)

    def _log_probs(self, out):
        """``(..., n_features, widest)`` log-probabilities of each category."""
        pad = out.new_full((*out.shape[:-1], 1), -math.inf)
        padded = torch.cat([out.float(), pad], -1)[..., self.slots]
        return padded.unflatten(-1, (self.n_features, self.widest)).log_softmax(-1)

    @torch.no_grad()
    def initialise(self, x):
        """Logits start at the log-frequencies of the categories (add-one smoothed)."""
        logits = []
        for j, k in enumerate(self.cardinalities):
            codes = x[:, j][x[:, j] >= 0].long()
            counts = torch.bincount(codes, minlength=k).float() + 1.0
            logits.append(torch.log(counts / counts.sum()))
        return torch.cat(logits)

    def feature_log_prob(self, x, out):
        missing, unseen = x.isnan(), x < 0
        codes = x.masked_fill(missing | unseen, 0.0).long().unsqueeze(-1)
        log_probs = self._log_probs(out)
        terms = log_probs.gather(-1, codes).squeeze(-1)
        least = log_probs.nan_to_num(neginf=torch.inf).amin(-1)  # padding: -inf
        return torch.where(unseen, least, terms).masked_fill(missing, 0.0)

    def expectation(self, out):
        """The probabilities of the categories, ``(..., n_features * widest)``."""
        return self._log_probs(out).exp().flatten(-2)

    def point(self, expectation):
        """The most probable category of each column."""
        probs = expectation.unflatten(-1, (self.n_features, self.widest))
        return probs.argmax(-1).to(expectation.dtype)

    def mean(self, out):
        return self.point(self.expectation(out))


class CategoricalSquaredError(CategoricalLikelihood):
    """A categorical column's squared error: the Brier score of its predicted
    probabilities against the observed category (one-hot), negated.

    The denoising autoencoder's term for categorical columns, on the scale
    of its squared errors of numeric ones.
    """

    def feature_log_prob(self, x, out):
        missing, unseen = x.isnan(), x < 0
        codes = x.masked_fill(missing | unseen, 0.0).long()
        probs = self._log_probs(out).exp()
        observed = nn.functional.one_hot(codes, self.widest).to(probs.dtype)
        observed = observed * (~unseen)[..., None]  # no category: all zeros
        # an unseen category is one of probability 0: its own error is 1
        terms = -((probs - observed).square().sum(-1) + unseen.to(probs.dtype))
        return terms.masked_fill(missing, 0.0)
