"""The scikit-learn layer every skvae model shares.

``BaseAutoencoder`` is the scikit-learn surface: parameters, validation,
``fit``/``partial_fit``, the transformer API and ``impute``, and (from
``_outliers.py``) the outlier-detection API. The mechanics live below it:

- ``_input.py`` checks data, ``_architecture.py`` builds backbones;
- ``_backend.py`` (``TorchBackend``) trains, moves and runs the module;
- ``modules/`` holds the torch models, ``likelihoods/`` their ``p(x|z)``;
- ``training/`` runs the loop and its callbacks, moves data to the device;
- ``_persistence.py`` pickles and saves.

A concrete model subclass declares its parameters and builds its module in
``_build_module`` (see ``docs/design.md``); it is registered as a skvae
model when it is defined.
"""

import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OutlierMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from . import _table as table
from ._backend import TorchBackend
from ._input import split, validate_X
from ._outliers import OutlierDetection
from ._persistence import Persistent
from ._registry import register
from .modules.networks import ACTIVATIONS
from .training.data import check_float32_range, has_gaps, refuse_dates
from .training.optimizers import OPTIMIZERS
from .training.schedules import LossSchedule


class BaseAutoencoder(
    OutlierDetection,
    TorchBackend,
    Persistent,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    OutlierMixin,
    BaseEstimator,
):
    """Base class of skvae's estimators. Not for direct use."""

    _parameter_constraints = {
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean", StrOptions({"auto"})],
        "epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_schedule": [StrOptions({"constant", "cosine"})],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "tol": [Interval(Real, 0, None, closed="left")],
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "trim_fraction": [Interval(Real, 0, 0.5, closed="left"), StrOptions({"auto"})],
        "trim_weight": [Interval(Real, 0, 1, closed="both")],
        "device": [str, torch.device],
        "compile": ["boolean"],
        "mixed_precision": [None, StrOptions({"bf16"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "checkpoint": [None, str, os.PathLike],
        "log_dir": [None, str, os.PathLike],
    }

    # the parameter of the models that take tables with categorical columns
    _TABLE_CONSTRAINTS = {
        "categorical_features": [None, "array-like", StrOptions({"from_dtype"})],
    }

    # True for models that read X as images (conv backbone)
    _image_input = False
    # True for models whose modules take missing entries (NaN) in rows
    _allows_gaps = False

    def __init_subclass__(cls, abstract=False, **kwargs):
        super().__init_subclass__(**kwargs)
        if not abstract:
            register(cls)

    # ---- what a model declares -----------------------------------------------

    def _build_module(self, n_features):
        """The untrained torch model for rows of ``n_features`` values."""
        raise NotImplementedError

    def _loss_schedule(self):
        """The keyword arguments of ``module.loss`` in each epoch."""
        return LossSchedule()

    def _check_values(self, X):
        """Model-specific checks of the values of a validated ``X``."""

    def _auto_trim_fraction(self):
        """The share of each batch that ``trim_fraction='auto'`` down-weights."""
        return 0.0

    def _scorer(self, validation=False):
        """The per-row function of ``score_samples``, and its cost per row.

        With ``validation``, the function of the validation score, which
        early stopping watches. The cost counts decoder passes per row;
        inference chunks shrink by it so that memory stays bounded.
        """
        return self.module_.score, 1

    def _feature_scorer(self):
        """The per-row function of ``feature_scores``, and its cost per row."""
        return self.module_.feature_scores, 1

    def _imputer(self):
        """The per-row function of ``impute``, and its cost per row."""
        return self.module_.impute, 1

    # ---- scikit-learn API -----------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the model on ``X``.

        Data that fits is converted to float32 and moved to the device once.
        An ``np.memmap`` (of any numeric dtype, e.g. uint8 images) is
        streamed instead, batch by batch, so that memory use grows with
        ``batch_size`` and not with the data set. A new model takes its data
        statistics (mean sample, variance) from up to 10,000 random rows.

        Ctrl-C (``KeyboardInterrupt``) stops training cleanly: the epoch it
        interrupts is discarded, the model keeps the weights of the best
        epoch (by validation score, with early stopping) or else of the last
        finished one, ``fit`` warns and returns the usable estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. Image models also take ``(n_samples, height,
            width[, channels])`` arrays.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        fresh = not (self.warm_start and hasattr(self, "module_"))
        X = validate_X(self, X, reset=fresh)
        if fresh:
            self._start_fit(X)
        train, val = split(self._rng, X.shape[0], self.validation_fraction)
        self._train(X, train, val, fresh)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one pass over ``X``, keeping what was learned before.

        Use it to train on data that arrives in chunks. There is no
        validation split and no early stopping; ``offset_`` is recomputed
        on ``X``. The model's statistics of the data (see ``fit``) are
        taken from the first chunk. Ctrl-C (``KeyboardInterrupt``) leaves
        the model as it was before the call, with a warning.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The updated estimator.
        """
        fresh = not hasattr(self, "module_")
        X = validate_X(self, X, reset=fresh)
        if fresh:
            self._start_fit(X)
        self._train(X, np.arange(X.shape[0]), None, fresh, one_pass=True)
        return self

    def _start_fit(self, X):
        """What a new model takes from its first data, before it is built."""
        self._rng = check_random_state(self.random_state)
        # the encoder sees missing-value flags if the first data has gaps
        self._gaps = has_gaps(X)
        if self._gaps and X.size and np.isnan(X).all():
            raise ValueError(
                "X has no observed value: every entry is missing (NaN). A model "
                "learns from observed entries; pass data that has some."
            )

    def transform(self, X):
        """Encode ``X`` into the latent space (posterior means, deterministic).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, latent_dim)
            The latent codes.
        """
        check_is_fitted(self)
        X = validate_X(self, X, reset=False)
        return self._forward(self.module_.embed, X)

    def inverse_transform(self, X):
        """Decode latent codes back into data space.

        Parameters
        ----------
        X : array-like of shape (n_samples, latent_dim)
            Latent codes, for example the output of ``transform``.

        Returns
        -------
        X_decoded : ndarray or DataFrame of shape (n_samples, n_features)
            The decoder's mean for each code (flattened images for image
            models). With categorical columns, the most probable category
            of each, in a data frame like the training one (or an object
            array if ``fit`` got an array).
        """
        check_is_fitted(self)
        refuse_dates(X)
        Z = check_array(X, dtype=[np.float64, np.float32])
        check_float32_range(Z)
        if Z.shape[1] != self.latent_dim:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__} decodes "
                f"codes of latent_dim={self.latent_dim}; pass the output of transform."
            )
        return self._restore(self._forward(self.module_.decode, Z))

    def _restore(self, values):
        """Decoded rows with categories in place of their codes."""
        if not self.is_categorical_.any():
            return values
        return table.restore(
            values,
            self.is_categorical_,
            self.categories_,
            self._columns_in,
            self._dtypes_in,
        )

    def impute(self, X):
        """``X`` with every missing entry filled in; observed entries unchanged.

        Numeric entries get their conditional mean given the row's observed
        entries (for VAEs importance-weighted over posterior draws, as in
        MIWAE), categorical ones the most probable category.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Data with missing entries (NaN, None or pandas NA).

        Returns
        -------
        X_filled : ndarray or DataFrame
            ``X`` completed, of the same kind: a data frame for a data
            frame, an array of ``X``'s shape for an array.
        """
        filled, values = self._per_row(X, self._imputer)
        gaps = np.isnan(values)  # an unseen category is no gap: its code is -1
        if isinstance(X, np.ndarray) and X.ndim != 2:  # images
            return np.where(gaps, filled, values).reshape(X.shape)
        return table.fill(X, filled, gaps, self.is_categorical_, self.categories_)

    @property
    def _n_features_out(self):
        return self.latent_dim

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = self._allows_gaps
        return tags
