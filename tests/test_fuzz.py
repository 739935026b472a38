"""Random bad input to every public method: a result, or a clear ValueError/TypeError.

Whatever the input (odd shapes and dtypes, NaN and infinity, sparse
matrices, data frames with strings, ragged lists, scalars), each call either
works, giving finite output of the right shape, or raises ValueError or
TypeError with a message; never an internal error of numpy or torch.
"""

import copy

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone
from sklearn.utils.validation import _num_samples

from skvae import VAE, ConvVAE, DenoisingAE

pytestmark = pytest.mark.filterwarnings("ignore:X has feature names")

N_FEATURES = 4  # 2x2 images for the ConvVAE
TINY = dict(hidden_layer_sizes=(8,), epochs=1, batch_size=16, random_state=0)
MODELS = {
    "VAE": VAE(latent_dim=2, **TINY),
    "DenoisingAE": DenoisingAE(latent_dim=3, **TINY),
    "ConvVAE": ConvVAE(latent_dim=2, channels=(2,), **TINY),
}
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---- inputs -------------------------------------------------------------------

ROWS = st.sampled_from([0, 1, 2, 5])
# 2 and 3 are latent_dims (inputs of inverse_transform), 4 the number of features
WIDTHS = st.sampled_from([0, 1, 2, 3, 4, 5])
SHAPES = st.one_of(
    st.tuples(ROWS, WIDTHS),
    st.tuples(WIDTHS),
    st.tuples(),
    st.tuples(ROWS, st.sampled_from([1, 2]), st.sampled_from([2, 4])),
    st.tuples(ROWS, st.just(2), st.just(2), st.sampled_from([1, 2])),
)
DTYPES = [bool, np.int8, np.uint8, np.int64, np.float16, np.float32, np.float64]
# beyond float32, whose range the networks compute in, or not finite
SPECIAL = [np.nan, np.inf, -np.inf, 1e39, -1e300]


def elements(dtype):
    """Values of ``dtype`` up to 1e4 in size.

    Values beyond float32 are refused (see ``SPECIAL``); finite ones above
    about 1e19 overflow in the networks (scores of -inf), unlike any data.
    """
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return st.integers(max(info.min, -(10**4)), min(info.max, 10**4))
    if dtype.kind == "c":
        return st.complex_numbers(max_magnitude=1e4)
    return st.floats(-1e4, 1e4, width=8 * dtype.itemsize)


@st.composite
def numeric_arrays(draw, dtypes=DTYPES + [np.complex128], shapes=SHAPES):
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    X = draw(hnp.arrays(dtype, draw(shapes), elements=elements(dtype)))
    if dtype.kind == "f" and X.size and draw(st.booleans()):
        index = draw(st.integers(0, X.size - 1))
        with np.errstate(over="ignore"):  # 1e39 is infinite in float16 and 32
            X.flat[index] = draw(st.sampled_from(SPECIAL))
    return X


TABLES = numeric_arrays(dtypes=[np.float64, np.int64], shapes=st.tuples(ROWS, WIDTHS))
OBJECTS = st.one_of(
    st.floats(-1e4, 1e4), st.integers(-100, 100), st.text(max_size=3), st.none()
)


@st.composite
def frames(draw):
    """Data frames with string column names, some with a column of another kind."""
    X = draw(TABLES)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    if X.shape[1] and draw(st.booleans()):
        n = X.shape[0]
        frame["x0"] = draw(
            st.sampled_from(
                [
                    ["a"] * n,
                    ["1.5"] * n,
                    [True] * n,
                    pd.array([None] + [1] * n, dtype="Int64")[:n],
                    pd.Categorical(["x"] * n),
                    pd.to_datetime([None] + ["2020-01-01"] * n)[:n],
                ]
            )
        )
    return frame


INPUTS = st.one_of(
    numeric_arrays(),
    hnp.arrays(object, SHAPES, elements=OBJECTS),
    hnp.arrays(st.sampled_from(["U3", "S3", "M8[D]", "m8[s]"]), SHAPES),
    st.builds(
        lambda X, sparse: sparse(X),
        TABLES,
        st.sampled_from([sp.csr_matrix, sp.coo_matrix, sp.csc_array]),
    ),
    frames(),
    numeric_arrays(dtypes=[np.float64, np.int64]).map(lambda X: X.tolist()),
    st.lists(st.lists(st.floats(-1e4, 1e4), max_size=5), max_size=4),  # ragged
    st.one_of(st.none(), st.floats(), st.text(max_size=3)),
)
COUNTS = st.one_of(
    st.integers(-2, 5),
    st.sampled_from([np.int64(2), 2.0, 1.5, "3", None, [2], True]),
)

# ---- checks -------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    X = np.random.RandomState(0).rand(50, N_FEATURES)
    return {name: clone(model).fit(X) for name, model in MODELS.items()}


def outcome(call):
    """The result of ``call()``, or None where it refused with a clear error."""
    try:
        return call()
    except (ValueError, TypeError) as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return None


def assert_finite(result, shape):
    assert result.shape == shape
    assert np.isfinite(result).all()


def assert_usable(model, X):
    assert np.isfinite(model.offset_)
    assert_finite(model.transform(X), (_num_samples(X), model.latent_dim))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize(
    "method", ["transform", "score_samples", "decision_function", "predict", "score"]
)
@FUZZ
@given(X=INPUTS)
def test_predicting(fitted, name, method, X):
    model = fitted[name]
    result = outcome(lambda: getattr(model, method)(X))
    if result is None:
        return
    n = _num_samples(X)
    if method == "score":
        assert np.isfinite(result)
    elif method == "transform":
        assert_finite(result, (n, model.latent_dim))
    else:
        assert_finite(result, (n,))
    if method == "predict":
        assert set(result) <= {-1, 1}


@pytest.mark.parametrize("name", MODELS)
@FUZZ
@given(Z=INPUTS)
def test_inverse_transform(fitted, name, Z):
    model = fitted[name]
    result = outcome(lambda: model.inverse_transform(Z))
    if result is not None:
        assert_finite(result, (_num_samples(Z), N_FEATURES))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("method", ["fit", "partial_fit", "fit_transform"])
@FUZZ
@given(X=INPUTS, warm=st.booleans())
def test_training(fitted, name, method, X, warm):
    # training goes on from the fitted model (warm) or starts a new one
    model = copy.deepcopy(fitted[name]) if warm else clone(fitted[name])
    model.set_params(warm_start=warm)
    result = outcome(lambda: getattr(model, method)(X))
    if result is None:
        return
    assert_usable(model, X)
    if method == "fit_transform":
        assert_finite(result, (_num_samples(X), model.latent_dim))
    else:
        assert result is model


@pytest.mark.parametrize("name", ["VAE", "ConvVAE"])
@FUZZ
@given(n_samples=COUNTS, random_state=st.one_of(st.none(), st.integers(-1, 3)))
def test_sample(fitted, name, n_samples, random_state):
    model = fitted[name]
    result = outcome(lambda: model.sample(n_samples, random_state=random_state))
    if result is not None:
        assert_finite(result, (n_samples, N_FEATURES))
