"""Image inputs: flattening image arrays and resolving ``image_shape``."""

import math
from numbers import Integral


def flatten_images(X):
    """Return ``(rows, image_shape)`` for 3-D/4-D image arrays, else ``(X, None)``.

    Only objects with an ``ndim`` (numpy arrays, memmaps) are reshaped; lists
    and data frames pass through to the usual 2-D validation.
    """
    ndim = getattr(X, "ndim", None)
    if ndim in (3, 4):
        return X.reshape(X.shape[0], -1), tuple(X.shape[1:])
    return X, None


def _as_hwc(shape):
    return tuple(shape) + (1,) if len(shape) == 2 else tuple(shape)


def resolve_image_shape(image_shape, array_shape, n_features):
    """The ``(height, width, channels)`` of the images in ``X``.

    Parameters
    ----------
    image_shape : tuple or None
        The estimator's ``image_shape`` parameter.
    array_shape : tuple or None
        ``X.shape[1:]`` when ``X`` was given as a 3-D or 4-D image array.
    n_features : int
        Number of values per flattened image.
    """
    if image_shape is None:
        if array_shape is not None:
            return _as_hwc(array_shape)
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"image_shape=None infers square single-channel images, but "
                f"X has {n_features} features, which is not a perfect square. "
                f"Pass image_shape=(height, width) or (height, width, channels), "
                f"or give X as an (n, height, width[, channels]) array."
            )
        return (side, side, 1)
    if (
        not isinstance(image_shape, (tuple, list))
        or len(image_shape) not in (2, 3)
        or not all(isinstance(s, Integral) and (s >= 1 or s == -1) for s in image_shape)
        or list(image_shape).count(-1) > 1
    ):
        raise ValueError(
            f"image_shape must be (height, width) or (height, width, channels) "
            f"with positive integers (one of them may be -1), got {image_shape!r}."
        )
    shape = _as_hwc(image_shape)
    if -1 in shape:  # inferred from n_features, as in numpy's reshape
        known = -math.prod(shape)
        if n_features % known:
            raise ValueError(
                f"image_shape={tuple(image_shape)} cannot hold {n_features} "
                f"features: {n_features} is not a multiple of {known}."
            )
        shape = tuple(n_features // known if s == -1 else s for s in shape)
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)} holds {math.prod(shape)} values per "
            f"image, but X has {n_features} features per row."
        )
    if array_shape is not None and _as_hwc(array_shape) != shape:
        raise ValueError(
            f"X holds images of shape {array_shape}, which does not match "
            f"image_shape={tuple(image_shape)}."
        )
    return shape


def check_image_array(array_shape, image_shape):
    """At predict time, images given as arrays must match the fitted shape."""
    if array_shape is not None and _as_hwc(array_shape) != image_shape:
        raise ValueError(
            f"X holds images of shape {array_shape}, but the model was fitted "
            f"on images of shape {image_shape} (height, width, channels)."
        )
