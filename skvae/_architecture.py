"""The backbone an estimator's architecture parameters describe."""

from numbers import Integral

from sklearn.utils._param_validation import Interval

from .likelihoods.mixed import MixedLikelihood
from .modules.columns import Columns
from .modules.networks import conv_backbone, mlp_backbone

CONV_CONSTRAINTS = {
    "image_shape": [None, tuple, list],
    "channels": ["array-like"],
    "kernel_size": [Interval(Integral, 1, None, closed="left")],
}


def positive_ints(value, name, allow_empty):
    """``value`` as a tuple of positive ints (an int alone is a 1-tuple)."""
    sizes = (value,) if isinstance(value, Integral) else tuple(value)
    if not all(isinstance(s, Integral) and s >= 1 for s in sizes) or (
        not sizes and not allow_empty
    ):
        raise ValueError(
            f"{name} must be a sequence of positive integers, got {value!r}."
        )
    return tuple(int(s) for s in sizes)


def uses_batch_norm(estimator):
    """``batch_norm`` with 'auto' resolved: on for conv backbones only."""
    if estimator.batch_norm == "auto":
        return estimator._image_input
    return estimator.batch_norm


def column_likelihood(estimator, numeric, categorical):
    """The likelihood class ``numeric`` over the fitted data's numeric columns
    and ``categorical`` over its categorical ones (``MixedLikelihood``)."""
    mask = estimator.is_categorical_
    numbers = numeric(int((~mask).sum()))
    if not mask.any():
        return numbers
    cardinalities = [len(c) for c in estimator.categories_]
    return MixedLikelihood(numbers, categorical(cardinalities), mask)


def columns(estimator, likelihood):
    """The ``Columns`` of the fitted data: numeric columns standardised for
    a likelihood that wants it, on dense models (pixels share one scale)."""
    return Columns(
        estimator.is_categorical_,
        [len(c) for c in estimator.categories_],
        standardise=likelihood.standardised and not estimator._image_input,
        gaps=estimator._gaps,
    )


def backbone(estimator, n_inputs, n_outputs, code_dim):
    """Encoder and decoder networks as set by the estimator's parameters.

    The encoder reads ``n_inputs`` values per row (``Columns.n_inputs``) and
    ends where a model's ``code_dim`` head starts; the decoder emits
    ``n_outputs`` values per row (what the likelihood needs).
    """
    hidden = positive_ints(
        estimator.hidden_layer_sizes, "hidden_layer_sizes", allow_empty=True
    )
    common = dict(
        activation=estimator.activation,
        dropout=estimator.dropout,
        batch_norm=uses_batch_norm(estimator),
    )
    if not estimator._image_input:
        return mlp_backbone(n_inputs, n_outputs, code_dim, hidden, **common)
    if estimator.kernel_size % 2 == 0:
        raise ValueError(
            f"kernel_size must be odd so that each block exactly halves the "
            f"image, got kernel_size={estimator.kernel_size}."
        )
    channels = positive_ints(estimator.channels, "channels", allow_empty=False)
    height, width, _ = estimator.image_shape_
    return conv_backbone(
        estimator.image_shape_,
        n_inputs // (height * width),
        n_outputs,
        code_dim,
        channels,
        estimator.kernel_size,
        hidden,
        **common,
    )
