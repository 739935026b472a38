"""The convolutional VAE: a BaseVAE on the conv backbone."""

from ._architecture import CONV_CONSTRAINTS
from ._docs import fill_doc
from ._vae import BaseVAE


@fill_doc(
    hidden_default="(256,)",
    batch_norm_default="True",
    likelihood_default="'gaussian'",
    importance_default="1",
)
class ConvVAE(BaseVAE):
    """Variational autoencoder with convolutional layers, for images.

    The encoder is a stack of strided convolutions followed by dense layers
    that output the Gaussian posterior ``q(z|x)``; the decoder mirrors it
    with dense layers and transposed convolutions. ``X`` holds one
    flattened image per row (channels last, as numpy and Keras store
    images), or is a 3-D ``(n, height, width)`` or 4-D ``(n, height, width,
    channels)`` array. Everything else is as in :class:`VAE`: the same
    transformer, scoring, sampling and outlier API.

    Parameters
    ----------
    latent_dim : int, default=16
        Dimension of the latent space: 16 keeps enough of an image for
        likelihoods, samples and outlier scores; 2 to plot it.

    %(conv_parameters)s

    %(dense_parameters)s

    %(vae_parameters)s

    %(training_parameters)s

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the training images.

    %(fitted_attributes)s

    See Also
    --------
    VAE : The dense variational autoencoder.

    Notes
    -----
    ``score_samples`` is each image's ELBO (or, with
    ``n_importance_samples`` above 1, its importance-weighted bound) in
    nats, as for :class:`VAE`.
    ``transform`` and ``score_samples`` take images in the same layout as
    ``fit``; ``inverse_transform`` and ``sample`` return flattened images.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import ConvVAE
    >>> X = load_digits().data / 16  # 8x8 images in [0, 1]
    >>> vae = ConvVAE(likelihood="bernoulli", epochs=3, random_state=0).fit(X)
    >>> vae.image_shape_
    (8, 8, 1)
    >>> vae.sample(2, random_state=0).shape
    (2, 64)
    """

    _parameter_constraints = {**BaseVAE._parameter_constraints, **CONV_CONSTRAINTS}
    _image_input = True

    def __init__(
        self,
        latent_dim=16,
        image_shape=None,
        channels=(32, 64),
        kernel_size=3,
        hidden_layer_sizes=(256,),
        activation="relu",
        dropout=0.0,
        batch_norm=True,
        likelihood="gaussian",
        beta=1.0,
        kl_warmup_epochs=10,
        kl_warmup_delay=0,
        n_importance_samples=1,
        train_importance_samples=1,
        prior="auto",
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
        self.image_shape = image_shape
        self.channels = channels
        self.kernel_size = kernel_size
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.likelihood = likelihood
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.kl_warmup_delay = kl_warmup_delay
        self.n_importance_samples = n_importance_samples
        self.train_importance_samples = train_importance_samples
        self.prior = prior
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
