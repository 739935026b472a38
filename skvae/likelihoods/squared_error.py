"""The denoising autoencoder's per-column error, in a likelihood's interface."""

import torch

from .base import Likelihood, column_moments, missing_entries


class SquaredError(Likelihood):
    """Minus the squared error of each numeric column (0 where missing).

    Not a distribution, so it has no ``name``: the ``likelihood`` parameter
    does not offer it. ``DenoisingAE`` scores rows by it, in the data's
    units: its noise is set in them too (scale columns of different units
    first, e.g. with ``StandardScaler``).
    """

    @torch.no_grad()
    def initialise(self, x):
        """Reconstructions start at the mean training sample."""
        return column_moments(x)[0].nan_to_num(0.0)

    def feature_log_prob(self, x, out):
        missing = missing_entries(x)
        errors = out.sub_(x)
        if missing is not None:
            errors.masked_fill_(missing, 0.0)
        return errors.square_().neg_()

    def mean(self, out):
        return out
