"""A skvae model as the imputation step of a Pipeline."""

from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._vae import VAE


class VAEImputer(TransformerMixin, BaseEstimator):
    """Fill in missing values with a skvae model, as a Pipeline step.

    ``fit`` trains a copy of ``estimator`` on the incomplete data (its
    likelihood runs over the observed entries only); ``transform`` returns
    the data with every missing entry filled by the model's ``impute`` and
    the observed entries unchanged. Use it where scikit-learn's
    ``SimpleImputer``, ``KNNImputer`` or ``IterativeImputer`` would go.

    Parameters
    ----------
    estimator : skvae estimator or None, default=None
        The model to train, e.g. ``VAE(latent_dim=4)`` or a
        ``DenoisingAE(noise='masking')``. None uses ``default_estimator()``:
        a VAE trained on the importance-weighted bound as MIWAE is
        (Mattei & Frellsen, 2019), the imputer that ranks best in the
        tabular benchmark. Training is random: pass a model with a
        ``random_state`` for the same imputations from run to run.

    Attributes
    ----------
    estimator_ : estimator
        The fitted copy of ``estimator``.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    sklearn.impute.IterativeImputer : Imputes each column by regression on
        the others.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import VAE, VAEImputer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 6))
    >>> X[rng.random(X.shape) < 0.2] = np.nan
    >>> imputer = VAEImputer(VAE(epochs=5, random_state=0)).fit(X)
    >>> np.isnan(imputer.transform(X)).any()
    np.False_
    """

    _parameter_constraints = {"estimator": [None, HasMethods(["fit", "impute"])]}

    def __init__(self, estimator=None):
        self.estimator = estimator

    @staticmethod
    def default_estimator():
        """The model that ``estimator=None`` trains: a VAE with 8 latent
        dimensions and one variance per column (``likelihood='gaussian'``,
        whose conditional means impute better than a variance per sample),
        trained in batches of 32 on the 10-sample importance-weighted bound
        for up to 300 epochs, stopping after 30 epochs without improvement,
        with a standard normal prior on the rows as given (no smoothing)."""
        return VAE(
            latent_dim=8,
            likelihood="gaussian",
            prior="normal",
            smoothing=0,
            n_importance_samples=1,
            epochs=300,
            batch_size=32,
            train_importance_samples=10,
            n_iter_no_change=30,
        )

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Train the model on ``X``, missing entries and all.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training data, with NaN (or None, pandas NA) where missing.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        model = self.default_estimator() if self.estimator is None else self.estimator
        self.estimator_ = clone(model).fit(X)
        self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    def transform(self, X):
        """``X`` with every missing entry filled in (see ``impute``).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Data with missing entries.

        Returns
        -------
        X_filled : ndarray or DataFrame of shape (n_samples, n_features)
            ``X`` completed, of the same kind.
        """
        check_is_fitted(self)
        return self.estimator_.impute(X)

    def get_feature_names_out(self, input_features=None):
        """The input features: imputation keeps the columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the input features; defaults to ``feature_names_in_``
            or ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        return _check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
