"""Checking what users pass: data, images and the training split."""

import math

import numpy as np
from sklearn.utils.validation import check_array, validate_data

from . import _table as table
from ._images import check_image_array, flatten_images, resolve_image_shape
from .training.data import check_float32_range, refuse_dates


def validate_X(estimator, X, reset):
    """Validated ``X`` as numbers: values, category codes, NaN where missing.

    Numeric arrays keep their dtype (a uint8 memmap stays one, not a
    float64 copy); rows are converted to float32 batch by batch. A table
    with categorical columns becomes a float64 matrix of values and codes
    (see ``_table.py``). With ``reset``, the estimator learns which columns
    are categorical and their categories, and image models set
    ``image_shape_``.
    """
    refuse_dates(X)
    mask = _categorical_columns(estimator, X) if reset else estimator.is_categorical_
    if mask is not None and mask.any():
        X = _validate_table(estimator, X, reset, mask)
    else:
        X = _validate_numbers(estimator, X, reset)
        mask = np.zeros(X.shape[1], dtype=bool)
        if reset:
            estimator.categories_ = []
            estimator._columns_in = estimator._dtypes_in = None
    if reset:
        estimator.is_categorical_ = mask
    return X


def _categorical_columns(estimator, X):
    """The mask of categorical columns that ``categorical_features`` names.

    None where the estimator has no such parameter or it can name none.
    """
    spec = getattr(estimator, "categorical_features", None)
    if spec is None or (isinstance(spec, str) and not table.is_frame(X)):
        return None
    if not hasattr(X, "shape"):
        X = np.asarray(X, dtype=object)
    if len(X.shape) != 2:
        return None
    mask = table.categorical_mask(spec, X, X.shape[1])
    if mask.any() and estimator._image_input:
        raise ValueError(
            f"{type(estimator).__name__} reads images, but categorical_features "
            f"names {int(mask.sum())} categorical columns; use "
            f"architecture='mlp' for tables with categorical columns."
        )
    return mask


def _validate_table(estimator, X, reset, mask):
    """A table with categorical columns as values and codes (float64)."""
    if not table.is_frame(X) and not isinstance(X, np.ndarray):
        X = np.asarray(X, dtype=object)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D table, got an array of shape {X.shape}.")
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    if reset:
        estimator.categories_ = table.learn_categories(X, mask)
        layout = table.frame_layout(X) if table.is_frame(X) else (None, None)
        estimator._columns_in, estimator._dtypes_in = layout
    values = table.encode(X, mask, estimator.categories_)
    values = check_array(values, ensure_all_finite="allow-nan")
    check_float32_range(values)
    return values


def _validate_numbers(estimator, X, reset):
    images = estimator._image_input
    array_shape = None
    if images:
        X, array_shape = flatten_images(X)
    numeric = isinstance(X, np.ndarray) and X.dtype.kind in "biuf"
    dtype = None if numeric else [np.float64, np.float32]
    try:
        finite = "allow-nan" if estimator._allows_gaps else True
        X = validate_data(
            estimator, X, reset=reset, dtype=dtype, ensure_all_finite=finite
        )
    except ValueError as exc:
        columns = _columns_of_no_numbers(X)
        if not columns:
            raise
        raise ValueError(_no_numbers_message(estimator, columns)) from exc
    check_float32_range(X)
    if images and reset:
        estimator.image_shape_ = resolve_image_shape(
            estimator.image_shape, array_shape, X.shape[1]
        )
    elif images:
        check_image_array(array_shape, estimator.image_shape_)
    return X


def _no_numbers_message(estimator, columns):
    if estimator._image_input:
        return (
            f"X has columns that do not hold numbers: {columns}. "
            f"{type(estimator).__name__} reads images of numbers; for tables "
            f"with categorical columns use VAE or DenoisingAE(architecture='mlp')."
        )
    if "categorical_features" in estimator.get_params():
        return (
            f"X has columns that do not hold numbers: {columns}. Name them in "
            f"categorical_features (or give them a category or string dtype "
            f"and keep categorical_features='from_dtype') to model them as "
            f"categories."
        )
    return (
        f"X has columns that do not hold numbers: {columns}. This model takes "
        f"numbers: encode these columns first (e.g. with "
        f"sklearn.preprocessing.OneHotEncoder in a ColumnTransformer) or drop them."
    )


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
