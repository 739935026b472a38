"""The denoising autoencoder: a deterministic model on either backbone."""

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._architecture import CONV_CONSTRAINTS, backbone, column_likelihood, columns
from ._base import BaseAutoencoder
from ._docs import fill_doc
from ._input import validate_X
from .likelihoods.categorical import CategoricalSquaredError
from .likelihoods.squared_error import SquaredError
from .modules.autoencoder import Autoencoder


@fill_doc(hidden_default="(256,)", batch_norm_default="'auto'")
class DenoisingAE(BaseAutoencoder):
    """Denoising autoencoder: learns to reconstruct clean data from noisy data.

    During training each batch is corrupted with fresh noise and the
    network is trained to output the clean batch (mean squared error). The
    encoder and decoder are dense layers (``architecture='mlp'``) or
    convolutions for images (``architecture='conv'``, with the same image
    handling as :class:`ConvVAE`).

    Parameters
    ----------
    latent_dim : int, default=32
        Size of the code.

    noise : {'gaussian', 'masking', 'salt_pepper'}, default='gaussian'
        Corruption used in training: additive Gaussian noise with standard
        deviation ``noise_level``; 'masking' sets a fraction ``noise_level``
        of the values to 0; 'salt_pepper' sets a fraction ``noise_level``
        of the values to their feature's training minimum or maximum (half
        each).

    noise_level : float, default=0.1
        Strength of the noise; a fraction in [0, 1] for 'masking' and
        'salt_pepper'.

    architecture : {'mlp', 'conv'}, default='mlp'
        Dense layers, or convolutions over images; only 'conv' uses the
        next three parameters after ``categorical_features``.

    %(table_parameters)s

    %(conv_parameters)s

    %(dense_parameters)s

    %(training_parameters)s

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images, with
        ``architecture='conv'``.

    %(fitted_attributes)s

    %(table_attributes)s

    See Also
    --------
    VAE : A probabilistic autoencoder that can also generate data.

    Notes
    -----
    ``score_samples`` is the negative mean squared reconstruction error of
    each sample over its features, ``-mean((x - decode(encode(x)))**2)``,
    computed without noise. A plain autoencoder has no prior to sample
    from, so there is no ``sample`` method.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skvae import DenoisingAE
    >>> X = load_digits().data / 16
    >>> dae = DenoisingAE(noise_level=0.2, epochs=5, random_state=0).fit(X)
    >>> noisy = X + np.random.default_rng(0).normal(0, 0.2, X.shape)
    >>> dae.denoise(noisy).shape
    (1797, 64)
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        **BaseAutoencoder._TABLE_CONSTRAINTS,
        **CONV_CONSTRAINTS,
        "noise": [StrOptions({"gaussian", "masking", "salt_pepper"})],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "architecture": [StrOptions({"mlp", "conv"})],
    }

    def __init__(
        self,
        latent_dim=32,
        noise="gaussian",
        noise_level=0.1,
        architecture="mlp",
        categorical_features="from_dtype",
        image_shape=None,
        channels=(32, 64),
        kernel_size=3,
        hidden_layer_sizes=(256,),
        activation="relu",
        dropout=0.0,
        batch_norm="auto",
        epochs="auto",
        batch_size=128,
        learning_rate=1e-3,
        learning_rate_schedule="constant",
        optimizer="adam",
        weight_decay=0.0,
        validation_fraction=0.1,
        early_stopping=True,
        n_iter_no_change="auto",
        tol=1e-4,
        contamination=0.1,
        trim_fraction="auto",
        trim_weight=0.3,
        device="auto",
        compile=False,
        mixed_precision=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        checkpoint=None,
        log_dir=None,
    ):
        self.latent_dim = latent_dim
        self.noise = noise
        self.noise_level = noise_level
        self.architecture = architecture
        self.categorical_features = categorical_features
        self.image_shape = image_shape
        self.channels = channels
        self.kernel_size = kernel_size
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.contamination = contamination
        self.trim_fraction = trim_fraction
        self.trim_weight = trim_weight
        self.device = device
        self.compile = compile
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.checkpoint = checkpoint
        self.log_dir = log_dir

    _allows_gaps = True

    @property
    def _image_input(self):
        return self.architecture == "conv"

    def _build_module(self, n_features):
        if self.noise != "gaussian" and self.noise_level > 1:
            raise ValueError(
                f"noise={self.noise!r} corrupts a fraction of the values, so "
                f"noise_level must be in [0, 1], got {self.noise_level}."
            )
        errors = column_likelihood(self, SquaredError, CategoricalSquaredError)
        layout = columns(self, errors)
        encoder, decoder = backbone(
            self, layout.n_inputs, errors.n_outputs, self.latent_dim
        )
        return Autoencoder(
            encoder,
            decoder,
            self.latent_dim,
            errors,
            layout,
            self.noise,
            self.noise_level,
        )

    def denoise(self, X):
        """Clean reconstruction of (noisy) samples: ``decode(encode(X))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Noisy data, in the layout used in ``fit``.

        Returns
        -------
        X_clean : ndarray or DataFrame of shape (n_samples, n_features)
            The reconstructions (flattened images for ``architecture='conv'``;
            with categorical columns, their most probable categories, as in
            ``inverse_transform``).
        """
        check_is_fitted(self)
        X = validate_X(self, X, reset=False)
        module = self.module_
        return self._restore(self._forward(lambda x: module.decode(module.embed(x)), X))
