"""Decoder distributions ``p(x|z)``, one small class a file (see ``base.py``).

Importing a likelihood's module registers it in ``LIKELIHOODS`` by its
``name``; the estimators' ``likelihood`` parameter takes any registered name.
"""

from .base import LIKELIHOODS, Likelihood
from .bernoulli import BernoulliLikelihood
from .gaussian import GaussianLikelihood
from .heteroscedastic import HeteroscedasticGaussian

__all__ = [
    "LIKELIHOODS",
    "Likelihood",
    "GaussianLikelihood",
    "HeteroscedasticGaussian",
    "BernoulliLikelihood",
]
