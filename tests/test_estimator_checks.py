"""scikit-learn's own estimator checks, over every model and backbone."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import VAE, VAEImputer
from skvae._registry import ESTIMATORS

# Tiny networks, so that the ~100 checks per estimator run fast.
# likelihood="bernoulli" is left out: it rejects the checks' data outside
# [0, 1] by design (tested in test_validation.py).
SMALL = dict(epochs=3, hidden_layer_sizes=(16,), random_state=0)
# The checks feed 1 to 20 tabular features, which are no square images;
# image_shape=(1, -1) reads each row as a 1-D signal so that the conv backbone
# is checked on all of them. The square-image default is tested in
# test_validation.py.
CONV = dict(image_shape=(1, -1), channels=(4,), **SMALL)

# The networks compute in float32, and oneDNN/MKL pick kernels by batch
# shape, so a row's result may differ in the last bit (about 2e-7 here)
# between a batch and a sub-batch; whether it does depends on the layers. The
# check demands 1e-7; test_api.py asserts subset invariance to 1e-5 instead.
FLOAT32_GEMM = {
    "check_methods_subset_invariance": (
        "float32 matrix products may differ in the last bit between batch shapes"
    )
}


# per model, its settings for the checks (one per backbone); others get SMALL
SETTINGS = {
    "ConvVAE": [CONV],
    "DenoisingAE": [SMALL, dict(architecture="conv", **CONV)],
}


@parametrize_with_checks(
    [
        cls(**settings)
        for name, cls in ESTIMATORS.items()
        if cls.__module__.startswith("skvae.")  # not the tests' own models
        for settings in SETTINGS.get(name, [SMALL])
    ]
    + [VAEImputer(VAE(**SMALL))],
    expected_failed_checks=lambda estimator: FLOAT32_GEMM,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
