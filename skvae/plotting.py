"""Figures of the usual VAE workflows, for fitted skvae estimators.

Latent-space scatter plots, the decoded manifold grid, reconstructions (and
noisy / denoised / clean rows), learning curves with the KL warm-up, score
histograms, and the per-column scores that say what makes a row abnormal.
Each function takes a fitted estimator or a ``Pipeline`` ending in one
(scalers before it are undone when decoding), draws on the
given matplotlib ``Axes`` or a new one, and returns what it drew on; none
calls ``plt.show()``. Needs matplotlib (``pip install matplotlib``).
"""

import math

import numpy as np
from scipy.stats import norm
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._base import BaseAutoencoder

__all__ = [
    "plot_images",
    "plot_latent_space",
    "plot_manifold",
    "plot_reconstructions",
    "plot_learning_curve",
    "plot_score_histogram",
    "plot_feature_scores",
]

# label values that plot_latent_space draws as noise points (DBSCAN's -1)
_NOISE_LABEL = -1
# at most this many distinct labels get a legend entry each
_MAX_LEGEND = 20


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skvae.plotting needs matplotlib; install it with "
            "pip install matplotlib (or, in a clone of skvae, pip install -e "
            "'.[plot]')."
        ) from exc
    return plt


def _new_axes(ax):
    return _pyplot().subplots()[1] if ax is None else ax


def _autoencoder(model):
    """The fitted skvae estimator of ``model`` (itself, or a Pipeline's last step)."""
    est = model[-1] if isinstance(model, Pipeline) else model
    if not isinstance(est, BaseAutoencoder):
        raise TypeError(
            f"Expected a fitted skvae estimator or a Pipeline ending in one, "
            f"got {type(est).__name__}."
        )
    check_is_fitted(est)
    return est


def _image_shape(est, image_shape):
    """``(height, width)`` or ``(height, width, channels)`` of the decoded rows."""
    if image_shape is not None:
        return tuple(image_shape)
    if hasattr(est, "image_shape_"):
        h, w, c = est.image_shape_
        return (h, w) if c == 1 else (h, w, c)
    return _square_shape(est.n_features_in_)


def _square_shape(n_values):
    """``(side, side)`` for rows of ``n_values`` values, if that is a square."""
    side = math.isqrt(n_values)
    if side * side != n_values:
        raise ValueError(
            f"Cannot tell the image shape of rows of {n_values} values; pass "
            f"image_shape=(height, width)."
        )
    return (side, side)


def _tile(rows, shape, n_cols):
    """Flattened images tiled into one picture, one pixel of space between them."""
    images = np.asarray(rows, dtype=float).reshape((len(rows),) + shape)
    h, w = shape[:2]
    n_rows = math.ceil(len(images) / n_cols)
    # blank (NaN) between grey images, white between colour ones
    blank = np.nan if len(shape) == 2 else 1.0
    canvas = np.full((n_rows * (h + 1) - 1, n_cols * (w + 1) - 1) + shape[2:], blank)
    for i, image in enumerate(images):
        r, c = divmod(i, n_cols)
        canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = image
    return canvas


def _show(ax, canvas, cmap):
    ax.imshow(canvas, cmap=cmap if canvas.ndim == 2 else None)
    ax.set_axis_off()


def _check_dims(dims, latent_dim):
    dims = tuple(dims)
    if (
        len(dims) != 2
        or len(set(dims)) != 2
        or not all(0 <= d < latent_dim for d in dims)
    ):
        raise ValueError(
            f"dims must be two different latent dimensions in [0, {latent_dim}), "
            f"got {dims!r}."
        )
    return dims


def plot_images(images, image_shape=None, *, n_cols=10, cmap="gray_r", ax=None):
    """Tile images into one picture: samples, cluster members, outliers.

    Parameters
    ----------
    images : array-like of shape (n_images, n_features) or image-shaped
        Flattened images (channels last), or an array of shape
        ``(n_images, height, width)`` or ``(n_images, height, width,
        channels)``.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, channels)``; taken from
        3-D/4-D ``images``, or else square single-channel images are
        assumed.
    n_cols : int, default=10
        Images per row.
    cmap : str, default='gray_r'
        Colour map of single-channel images.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib Axes
    """
    images = np.asarray(images)
    if image_shape is None and images.ndim in (3, 4):
        image_shape = images.shape[1:]
    images = images.reshape(len(images), -1)
    if image_shape is None:
        image_shape = _square_shape(images.shape[1])
    ax = _new_axes(ax)
    _show(ax, _tile(images, tuple(image_shape), min(n_cols, len(images))), cmap)
    return ax


def plot_latent_space(model, X, y=None, *, dims=(0, 1), ax=None, **scatter_kws):
    """Scatter plot of the codes of ``X``, coloured by ``y``.

    Parameters
    ----------
    model : fitted estimator or Pipeline ending in one
        Encodes ``X`` with ``model.transform``.
    X : array-like of shape (n_samples, n_features)
        Data to encode.
    y : array-like of shape (n_samples,), default=None
        Colours: class labels or cluster labels (up to 20 distinct values
        get a legend; ``-1``, DBSCAN's noise label, is drawn in grey) or
        continuous values (a colour bar).
    dims : pair of int, default=(0, 1)
        The latent dimensions on the x and y axes.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.
    **scatter_kws
        Passed to ``Axes.scatter`` (e.g. ``s``, ``alpha``).

    Returns
    -------
    ax : matplotlib Axes
    """
    est = _autoencoder(model)
    dims = _check_dims(dims, est.latent_dim)
    codes = np.asarray(model.transform(X))[:, dims]
    ax = _new_axes(ax)
    scatter_kws.setdefault("s", 6)
    names = est.get_feature_names_out()
    ax.set(xlabel=names[dims[0]], ylabel=names[dims[1]])
    if y is None:
        ax.scatter(codes[:, 0], codes[:, 1], **scatter_kws)
        return ax
    y = np.asarray(y)
    if len(y) != len(codes):
        raise ValueError(f"y has {len(y)} labels for {len(codes)} samples.")
    labels = np.unique(y)
    if y.dtype.kind in "fc" and len(labels) > _MAX_LEGEND:
        points = ax.scatter(codes[:, 0], codes[:, 1], c=y, **scatter_kws)
        ax.figure.colorbar(points, ax=ax)
        return ax
    colours = _pyplot().get_cmap("tab20" if len(labels) > 10 else "tab10")
    for i, label in enumerate(labels):
        at = y == label
        noise = label == _NOISE_LABEL
        ax.scatter(
            codes[at, 0],
            codes[at, 1],
            color="lightgrey" if noise else colours(i % colours.N),
            label="noise" if noise else str(label),
            **scatter_kws,
        )
    if len(labels) <= _MAX_LEGEND:
        ax.legend(markerscale=2, fontsize="small", loc="best")
    return ax


def plot_manifold(
    model,
    n=15,
    *,
    dims=(0, 1),
    quantiles=(0.05, 0.95),
    image_shape=None,
    cmap="gray_r",
    ax=None,
):
    """Decode an ``n x n`` grid of latent points and tile the images.

    The grid is evenly spaced in probability under ``N(0, 1)``, the
    prior of models with ``prior='normal'``: its coordinates are
    ``norm.ppf(linspace(*quantiles, n))`` along the two latent dimensions
    ``dims``; all other dimensions are 0 (that prior's mean). The
    top-left image has the lowest ``dims[0]`` and highest ``dims[1]``
    coordinate, as in a scatter plot.

    Parameters
    ----------
    model : fitted estimator or Pipeline ending in one
        Decodes with ``model.inverse_transform``.
    n : int, default=15
        Images per side of the grid.
    dims : pair of int, default=(0, 1)
        The latent dimensions the grid spans.
    quantiles : pair of float, default=(0.05, 0.95)
        ``N(0, 1)`` quantiles of the first and last grid lines.
    image_shape : tuple of int, default=None
        Shape of a decoded image; taken from the estimator if None
        (``image_shape_``, or square single-channel images).
    cmap : str, default='gray_r'
        Colour map of single-channel images.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib Axes
    """
    est = _autoencoder(model)
    if est.latent_dim < 2:
        raise ValueError("plot_manifold needs a latent space of 2 or more dimensions.")
    dims = _check_dims(dims, est.latent_dim)
    low, high = quantiles
    if not 0 < low < high < 1:
        raise ValueError(f"quantiles must satisfy 0 < low < high < 1, got {quantiles}.")
    grid = norm.ppf(np.linspace(low, high, n))
    codes = np.zeros((n * n, est.latent_dim))
    codes[:, dims[0]] = np.tile(grid, n)  # left to right
    codes[:, dims[1]] = np.repeat(grid[::-1], n)  # top to bottom
    images = model.inverse_transform(codes)
    ax = _new_axes(ax)
    _show(ax, _tile(images, _image_shape(est, image_shape), n), cmap)
    return ax


def plot_reconstructions(
    model, X, *, n=8, noisy=None, image_shape=None, cmap="gray_r", fig=None
):
    """Originals above their reconstructions, or noisy / denoised / clean rows.

    Parameters
    ----------
    model : fitted estimator or Pipeline ending in one
        Reconstructs with ``model.inverse_transform(model.transform(.))``.
    X : array-like of shape (n_samples, n_features)
        The (clean) images; the first ``n`` are shown.
    n : int, default=8
        Number of images.
    noisy : array-like of shape (n_samples, n_features), default=None
        Corrupted versions of ``X``: then the rows are noisy, denoised (the
        reconstruction of the noisy image) and clean.
    image_shape : tuple of int, default=None
        Shape of an image; taken from the estimator if None.
    cmap : str, default='gray_r'
        Colour map of single-channel images.
    fig : matplotlib Figure, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    fig : matplotlib Figure
        One Axes per row of images.
    """
    est = _autoencoder(model)
    shape = _image_shape(est, image_shape)
    clean = np.asarray(X)[:n].reshape(-1, math.prod(shape))

    def reconstruct(images):
        return model.inverse_transform(model.transform(images))

    if noisy is None:
        rows = {"original": clean, "reconstruction": reconstruct(clean)}
    else:
        noisy = np.asarray(noisy)[:n].reshape(clean.shape)
        rows = {"noisy": noisy, "denoised": reconstruct(noisy), "clean": clean}
    fig = _pyplot().figure() if fig is None else fig
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, (title, images) in zip(axes, rows.items()):
        _show(ax, _tile(images, shape, len(clean)), cmap)
        ax.set_title(title, fontsize="small", loc="left")
    return fig


def plot_learning_curve(estimator, ax=None):
    """Training loss per epoch and, if any, the validation score.

    The KL warm-up epochs of a VAE are shaded: the loss changes meaning
    while the KL weight rises, so it may go up there.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline ending in one
        Reads ``loss_curve_`` and ``validation_scores_``.
    ax : matplotlib Axes, default=None
        Where to draw the loss; the validation score goes on a twin axis.

    Returns
    -------
    ax : matplotlib Axes
    """
    est = _autoencoder(estimator)
    ax = _new_axes(ax)
    epochs = np.arange(1, len(est.loss_curve_) + 1)
    ax.plot(epochs, est.loss_curve_, color="C0", label="training loss")
    ax.set(xlabel="epoch", ylabel="training loss")
    warmup = min(est._loss_schedule().settled_after, len(epochs))
    if warmup:
        ax.axvspan(0.5, warmup + 0.5, color="0.9", label="KL warm-up")
    if est.validation_scores_:
        twin = ax.twinx()
        twin.plot(epochs, est.validation_scores_, color="C1", label="validation score")
        twin.set_ylabel("validation score (higher is better)")
        handles = [*ax.get_legend_handles_labels()[0], *twin.get_lines()]
        ax.legend(handles=handles, loc="center right", fontsize="small")
    else:
        ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_score_histogram(model, samples, *, bins=50, ax=None):
    """Histograms of ``score_samples`` per group, with the outlier threshold.

    Parameters
    ----------
    model : fitted estimator or Pipeline ending in one
        Scores with ``model.score_samples``.
    samples : dict of str to array-like, or array-like
        Groups to compare, e.g. ``{"digits": X, "9s": X_nines, "noise":
        X_noise}``; a single array is one group.
    bins : int, default=50
        Bins shared by all groups.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib Axes
    """
    est = _autoencoder(model)
    if not isinstance(samples, dict):
        samples = {"samples": samples}
    scores = {name: np.asarray(model.score_samples(X)) for name, X in samples.items()}
    edges = np.histogram_bin_edges(np.concatenate(list(scores.values())), bins)
    ax = _new_axes(ax)
    for name, values in scores.items():
        ax.hist(values, bins=edges, alpha=0.5, label=name)
    ax.axvline(
        est.offset_,
        color="k",
        linestyle="--",
        label=f"offset_ (contamination={est.contamination})",
    )
    ax.set(xlabel="score_samples (higher is more normal)", ylabel="samples")
    ax.legend(fontsize="small")
    return ax


def plot_feature_scores(model, X, *, feature_names=None, ax=None):
    """Bars of each column's score for a few rows: which columns make them
    outliers.

    The scores are ``feature_scores``: per column, higher is more normal;
    a row's most negative bar is the column least like the training data.
    Missing entries have no bar.

    Parameters
    ----------
    model : fitted estimator or Pipeline ending in one
        Rates the columns with ``feature_scores`` (after the Pipeline's
        other steps have transformed ``X``).
    X : array-like or DataFrame of shape (n_samples, n_features)
        The rows to explain, one or a few (each gets a colour).
    feature_names : list of str, default=None
        Column labels; by default the model's ``feature_names_in_``, or
        ``x0, x1, ...``.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib Axes
    """
    est = _autoencoder(model)
    if isinstance(model, Pipeline):
        X = model[:-1].transform(X)
    scores = est.feature_scores(X)
    n_rows, n_features = scores.shape
    if feature_names is None:
        feature_names = getattr(
            est, "feature_names_in_", [f"x{j}" for j in range(n_features)]
        )
    if len(feature_names) != n_features:
        raise ValueError(
            f"feature_names has {len(feature_names)} names for {n_features} columns."
        )
    ax = _new_axes(ax)
    height = 0.8 / n_rows
    positions = np.arange(n_features)
    for i, row in enumerate(scores):
        observed = ~np.isnan(row)
        lowest = feature_names[int(np.nanargmin(row))] if observed.any() else "-"
        label = f"row {i}: lowest {lowest}"
        ax.barh(positions + i * height, row, height=height, label=label)
    ax.set_yticks(positions + 0.4 - height / 2, labels=list(map(str, feature_names)))
    ax.invert_yaxis()
    ax.axvline(0, color="k", linewidth=0.5)
    ax.set(xlabel="feature score (higher is more normal)")
    ax.legend(fontsize="small")
    return ax
