"""Checking what users pass: data, images and the training split."""

import math

import numpy as np
from sklearn.utils.validation import validate_data

from ._images import check_image_array, flatten_images, resolve_image_shape
from .training.data import check_float32_range, refuse_dates


def validate_X(estimator, X, reset):
    """Validated numeric ``X``; image arrays are flattened for image models.

    Numeric arrays keep their dtype (a uint8 memmap stays one, not a
    float64 copy); rows are converted to float32 batch by batch. With
    ``reset``, image models set ``image_shape_``.
    """
    refuse_dates(X)
    array_shape = None
    images = estimator._image_input
    if images:
        X, array_shape = flatten_images(X)
    numeric = isinstance(X, np.ndarray) and X.dtype.kind in "biuf"
    dtype = None if numeric else [np.float64, np.float32]
    try:
        X = validate_data(estimator, X, reset=reset, dtype=dtype)
    except ValueError as exc:
        columns = _columns_of_no_numbers(X)
        if not columns:
            raise
        raise ValueError(
            f"X has columns that do not hold numbers: {columns}. skvae's models "
            f"take numbers: encode these columns first (e.g. with "
            f"sklearn.preprocessing.OneHotEncoder in a ColumnTransformer) or "
            f"drop them."
        ) from exc
    check_float32_range(X)
    if images and reset:
        estimator.image_shape_ = resolve_image_shape(
            estimator.image_shape, array_shape, X.shape[1]
        )
    elif images:
        check_image_array(array_shape, estimator.image_shape_)
    return X


def _columns_of_no_numbers(X):
    """The names of a data frame's columns that do not convert to floats."""
    if not hasattr(X, "columns"):
        return []
    bad = []
    for name in X.columns:
        try:
            np.asarray(X[name], dtype=np.float64)
        except (TypeError, ValueError):
            bad.append(name)
    return bad


def split(rng, n_samples, validation_fraction):
    """Indices of the training and validation rows (validation None if off)."""
    if validation_fraction == 0:
        return np.arange(n_samples), None
    n_val = math.ceil(validation_fraction * n_samples)
    if n_val >= n_samples:
        raise ValueError(
            f"validation_fraction={validation_fraction} leaves no training "
            f"sample with n_samples={n_samples}; pass more samples or set "
            f"validation_fraction=0."
        )
    order = rng.permutation(n_samples)
    return order[n_val:], order[:n_val]
