"""Tables: which columns are categorical, their categories, and their codes.

The networks see one float per column: a numeric column's value, or a
categorical column's code (the index of its category in ``categories_``,
-1 for a category not seen in ``fit``), with NaN for a missing entry. This
module turns what users pass (data frames with category, string, boolean
or numeric columns, object arrays) into that matrix and turns codes back
into categories.
"""

import numbers
import os
import sys
import warnings

import numpy as np
from sklearn.utils._missing import is_pandas_na, is_scalar_nan


def is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def categorical_mask(spec, X, n_features):
    """``categorical_features`` as a boolean mask over the columns of ``X``.

    ``'from_dtype'`` takes a data frame's category, string/object and
    boolean columns (none of an array's); it also takes indices, column
    names, a boolean mask or None, as ``HistGradientBoostingClassifier``.
    """
    if spec is None or (not isinstance(spec, str) and len(spec) == 0):
        return np.zeros(n_features, dtype=bool)
    if isinstance(spec, str) and spec == "from_dtype":
        if not is_frame(X):
            return np.zeros(n_features, dtype=bool)
        return np.array([_looks_categorical(X[c]) for c in X.columns], dtype=bool)
    spec = np.asarray(spec)
    if spec.dtype.kind == "b":
        if spec.shape != (n_features,):
            raise ValueError(
                f"categorical_features as a boolean mask needs one entry per "
                f"column ({n_features}), got shape {spec.shape}."
            )
        return spec.astype(bool)
    mask = np.zeros(n_features, dtype=bool)
    if spec.dtype.kind in "iu":
        if spec.size and (spec.min() < -n_features or spec.max() >= n_features):
            raise ValueError(
                f"categorical_features has indices {spec.tolist()}, but X has "
                f"{n_features} columns."
            )
        mask[spec] = True
        return mask
    if spec.dtype.kind in "UO" and is_frame(X):
        names = [str(c) for c in X.columns]
        unknown = [s for s in spec.ravel().tolist() if str(s) not in names]
        if unknown:
            raise ValueError(
                f"categorical_features names columns {unknown} that X does not "
                f"have; its columns are {names}."
            )
        mask[[names.index(str(s)) for s in spec.ravel()]] = True
        return mask
    raise ValueError(
        f"categorical_features must be 'from_dtype', None, a boolean mask, "
        f"column indices, or column names of a data frame; got {spec.tolist()!r}."
    )


def _looks_categorical(column):
    kind = getattr(column.dtype, "kind", "O")
    return kind in "OSUb" or str(column.dtype) in ("category", "string", "boolean")


def _column(X, j):
    """Column ``j`` of ``X`` as a 1-D numpy array (object for non-numbers)."""
    if is_frame(X):
        column = X.iloc[:, j]
        if getattr(column.dtype, "kind", "O") in "fiu":  # nullable ones too
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
        return column.astype(object).to_numpy(dtype=object, na_value=np.nan)
    return np.asarray(X)[:, j]


def _pandas():
    """pandas if it is installed (it is optional), else None."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _missing(values):
    if values.dtype.kind in "biu":
        return np.zeros(values.shape, dtype=bool)
    if values.dtype.kind == "f":
        return np.isnan(values)
    pd = _pandas()
    if pd is not None:  # vectorised
        return np.asarray(pd.isna(values), dtype=bool)
    return np.array([v is None or is_scalar_nan(v) or is_pandas_na(v) for v in values])


def _lookup(values, categories):
    """Each value's index in ``categories``, -1 for any other (missing too)."""
    pd = _pandas()
    if pd is not None:  # vectorised
        return pd.Index(categories).get_indexer(values)
    index = {v: i for i, v in enumerate(categories.tolist())}
    return np.array([index.get(v, -1) for v in values])


def _name(X, j):
    return repr(X.columns[j]) if is_frame(X) else f"index {j}"


def learn_categories(X, mask):
    """The categories of each categorical column of ``X``: a pandas category
    dtype's own (in its order), else the sorted values seen."""
    categories = []
    for j in np.flatnonzero(mask):
        dtype = X.dtypes.iloc[j] if is_frame(X) else None
        if str(dtype) == "category":
            categories.append(np.array(list(dtype.categories), dtype=object))
            continue
        values = _column(X, j)
        values = values[~_missing(values)]
        try:
            pd = _pandas()
            seen = set(pd.unique(values) if pd is not None else values.tolist())
        except TypeError as exc:
            raise ValueError(
                f"Column {_name(X, j)} is categorical but holds unhashable "
                f"values; categorical columns hold strings, numbers or booleans."
            ) from exc
        kinds = {_kind(v) for v in seen}
        if not seen:
            raise ValueError(
                f"Column {_name(X, j)} is categorical but has no observed value "
                f"in the training data; drop it, or fit on data that has some."
            )
        if len(kinds) > 1:
            raise ValueError(
                f"Column {_name(X, j)} is categorical but holds values of "
                f"several kinds ({', '.join(sorted(kinds))}); make each "
                f"categorical column hold one kind (e.g. all strings)."
            )
        categories.append(np.array(sorted(seen), dtype=object))
    return categories


def _kind(value):
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, numbers.Number):
        return "number"
    return type(value).__name__


def encode(X, mask, categories):
    """``X`` as a float64 matrix: numeric values and category codes, NaN missing.

    A category not seen in ``fit`` gets code -1, with a warning.
    """
    n_samples, n_features = X.shape
    out = np.empty((n_samples, n_features))
    codes = iter(categories)
    for j in range(n_features):
        values = _column(X, j)
        if mask[j]:
            out[:, j] = _codes(values, next(codes), X, j)
            continue
        try:
            out[:, j] = np.where(_missing(values), np.nan, values).astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Column {_name(X, j)} holds values that are not numbers; name "
                f"it in categorical_features (or give it a category or string "
                f"dtype) to model it as categorical."
            ) from exc
    return out


def _codes(values, categories, X, j):
    missing = _missing(values)
    try:
        codes = np.where(missing, np.nan, _lookup(values, categories))
    except TypeError as exc:
        raise ValueError(
            f"Column {_name(X, j)} holds unhashable values; categorical "
            f"columns hold strings, numbers or booleans."
        ) from exc
    unseen = codes == -1
    if unseen.any():
        warnings.warn(
            f"Column {_name(X, j)} has {int(unseen.sum())} values of categories "
            f"not seen in fit (e.g. {values[unseen][0]!r}); they score as the "
            f"column's least likely category and are encoded as no category.",
            UserWarning,
            stacklevel=_outside_skvae(),
        )
    return codes


def _outside_skvae():
    """The ``stacklevel`` of the first caller outside skvae and scikit-learn."""
    frame, level = sys._getframe(1), 1
    inside = ("skvae" + os.sep, "sklearn" + os.sep)
    while frame is not None and any(p in frame.f_code.co_filename for p in inside):
        frame, level = frame.f_back, level + 1
    return level


def restore(values, mask, categories, columns, dtypes):
    """Codes back to categories: a data frame with the training columns
    (``columns``/``dtypes`` from fit, see ``frame_layout``) or else an
    object array."""
    out = values.astype(object)
    for j, cats in zip(np.flatnonzero(mask), categories):
        codes = values[:, j]
        known = codes >= 0  # neither missing nor unseen
        column = np.full(len(codes), np.nan, dtype=object)
        column[known] = cats[codes[known].astype(int)]
        out[:, j] = column
    if columns is None:
        return out
    import pandas as pd  # fit got a data frame, so pandas is there

    found = iter(categories)
    frame = pd.DataFrame(
        {
            c: _as_dtype(out[:, j], dtype, next(found) if mask[j] else None, pd)
            for j, (c, dtype) in enumerate(zip(columns, dtypes))
        }
    )
    return frame


def frame_layout(X):
    """The columns and dtypes that ``restore`` rebuilds a frame like ``X`` with."""
    dtypes = []
    for dtype in X.dtypes:
        ordered = str(dtype) == "category" and dtype.ordered
        dtypes.append("ordered category" if ordered else str(dtype))
    return list(X.columns), dtypes


def _as_dtype(values, dtype, categories, pd):
    column = pd.Series(values)
    if categories is None:
        return column.astype(np.float64)
    if dtype.endswith("category"):
        return pd.Series(
            pd.Categorical(
                values, categories=categories, ordered=dtype == "ordered category"
            )
        )
    if dtype in ("bool", "boolean"):  # decoded categories are never missing
        return column.astype(dtype)
    return column


def _fill_column(column, gaps, filled, categorical):
    """A copy of a frame's column with its ``gaps`` taken from ``filled``."""
    if not categorical:
        column = column.astype(np.float64)
    elif str(column.dtype) == "category":  # imputed categories join the dtype's
        new = set(filled[gaps]) - set(column.cat.categories)
        column = column.cat.add_categories(sorted(new))
    elif column.dtype.kind == "f":  # a categorical column missing everywhere
        column = column.astype(object)
    column = column.copy()
    column.iloc[np.flatnonzero(gaps)] = filled[gaps]
    return column


def fill(X, values, gaps, mask, categories):
    """``X`` with its missing entries (``gaps``) taken from ``values`` (codes
    for categorical columns); observed entries stay as they are."""
    if not is_frame(X):
        X = np.asarray(X)
    if is_frame(X):
        X = X.copy()
        filled = restore(values, mask, categories, None, None)
        for j, name in enumerate(X.columns):
            if gaps[:, j].any():
                source = filled if mask[j] else values
                X[name] = _fill_column(X[name], gaps[:, j], source[:, j], mask[j])
        return X
    if mask.any() or X.dtype.kind == "O":
        X = np.array(X, dtype=object)
        filled = restore(values, mask, categories, None, None)
    else:
        X = np.array(X, dtype=np.result_type(X.dtype, np.float32))
        filled = values
    X[gaps] = filled[gaps]
    return X
