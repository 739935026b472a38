"""The outlier-detection half of the scikit-learn surface.

``OutlierDetection`` gives every skvae model the API of scikit-learn's
``IsolationForest`` (``score_samples``, ``decision_function``, ``predict``,
``offset_`` from ``contamination``), ``score`` for ``GridSearchCV``, and
``feature_scores``, which splits a row's score by column. The model
supplies ``_scorer`` and ``_feature_scorer`` (see ``_base.py``).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._input import validate_X


class OutlierDetection:
    """Scores of rows and of their columns, and the outlier decisions."""

    def score_samples(self, X):
        """Per-sample score: higher means more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The model's score for each sample (see the class docstring for
            its exact definition). Deterministic for a fitted model. For a
            row with missing entries it covers the observed ones only: the
            VAEs' log-likelihood of the observed entries (0, up to the
            bound's gap, for a row with none observed), the
            DenoisingAE's mean squared error over them (0 for none).
        """
        return self._per_row(X, self._scorer)[0]

    def feature_scores(self, X):
        """Each column's term of the score: which columns make a row abnormal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to rate, missing entries (NaN) allowed.

        Returns
        -------
        scores : ndarray of shape (n_samples, ``n_features_in_``)
            Per column, higher means more normal: for VAEs the column's
            expected log-likelihood under the posterior, in nats (the ELBO's
            reconstruction term split by column; a categorical column is one
            entry); for :class:`DenoisingAE` minus its squared
            reconstruction error. NaN where the entry is missing. The lowest
            entry of a row names the column least like the training data.
        """
        return self._per_row(X, self._feature_scorer)[0]

    def _per_row(self, X, function):
        """The validated rows of ``X`` through the module function that
        ``function()`` gives with its cost (as ``_scorer`` does), and the rows."""
        check_is_fitted(self)
        values = validate_X(self, X, reset=False)
        self._check_values(values)
        fn, cost = function()
        return self._forward(fn, values, cost), values

    def score(self, X, y=None):
        """Mean of ``score_samples`` over ``X``; used by ``GridSearchCV``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            The average score, higher is better.
        """
        return float(np.mean(self.score_samples(X)))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to rate.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            Shifted scores; the ``contamination`` share of the training data
            lies below zero.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each sample as inlier (+1) or outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)
