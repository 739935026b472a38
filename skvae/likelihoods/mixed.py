"""Tables with numeric and categorical columns: one likelihood for each kind."""

import torch

from .base import Likelihood


class MixedLikelihood(Likelihood):
    """``p(x|z)`` of a row whose numeric columns follow ``numeric`` and whose
    categorical columns follow ``categorical``.

    The decoder emits ``numeric``'s outputs, then ``categorical``'s.

    Parameters
    ----------
    numeric, categorical : Likelihood
        The likelihoods of the numeric and of the categorical columns.
    is_categorical : array-like of bool
        Which columns are categorical.
    """

    def __init__(self, numeric, categorical, is_categorical):
        is_categorical = torch.as_tensor(is_categorical, dtype=torch.bool)
        super().__init__(len(is_categorical))
        self.numeric = numeric
        self.categorical = categorical
        self.standardised = numeric.standardised
        columns = torch.arange(len(is_categorical))
        self.register_buffer("numbers", columns[~is_categorical], persistent=False)
        self.register_buffer("codes", columns[is_categorical], persistent=False)

    @property
    def n_outputs(self):
        return self.numeric.n_outputs + self.categorical.n_outputs

    def _parts(self, x, out):
        """``(x, out)`` of the numeric columns, then of the categorical ones."""
        split = self.numeric.n_outputs
        return (
            (x[..., self.numbers], out[..., :split]),
            (x[..., self.codes], out[..., split:]),
        )

    def initialise(self, x):
        return torch.cat(
            [
                self.numeric.initialise(x[:, self.numbers]),
                self.categorical.initialise(x[:, self.codes]),
            ]
        )

    # the numeric part first: it may overwrite its outputs in place, which
    # must happen before the categorical part reads its own
    def feature_log_prob(self, x, out):
        numbers, codes = self._parts(x, out)
        terms = x.new_zeros(x.shape)
        terms[..., self.numbers] = self.numeric.feature_log_prob(*numbers)
        terms[..., self.codes] = self.categorical.feature_log_prob(*codes)
        return terms

    def log_prob(self, x, out):
        numbers, codes = self._parts(x, out)
        numeric = self.numeric.log_prob(*numbers)
        return numeric + self.categorical.log_prob(*codes)

    def expectation(self, out):
        split = self.numeric.n_outputs
        return torch.cat(
            [
                self.numeric.expectation(out[..., :split]),
                self.categorical.expectation(out[..., split:]),
            ],
            -1,
        )

    def point(self, expectation):
        split = len(self.numbers)
        values = expectation.new_empty((*expectation.shape[:-1], self.n_features))
        values[..., self.numbers] = self.numeric.point(expectation[..., :split])
        values[..., self.codes] = self.categorical.point(expectation[..., split:])
        return values

    def mean(self, out):
        return self.point(self.expectation(out))
