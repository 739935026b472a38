"""Variational autoencoders: what VAE and ConvVAE share, and the dense VAE."""

from functools import partial
from numbers import Integral, Real

from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._architecture import backbone, column_likelihood, columns
from ._base import BaseAutoencoder
from ._docs import fill_doc
from .likelihoods import LIKELIHOODS
from .likelihoods.categorical import CategoricalLikelihood
from .modules.priors import PRIORS
from .modules.vae import IW_BLOCK, VariationalAutoencoder
from .training.schedules import LossSchedule, kl_warmup

# posterior draws whose importance weights average an imputation (at least)
IMPUTE_SAMPLES = 100
# smoothing='auto' on numeric tables, in standard deviations of each column
AUTO_SMOOTHING = 0.1


def _numeric_table(layout):
    """Whether rows are a table of numbers only, standardised for the
    likelihood: where the 'auto' prior and smoothing were measured to help
    (with categorical columns both made outlier scores worse)."""
    return layout.standardised and not layout.mixed


class BaseVAE(BaseAutoencoder, abstract=True):
    """Likelihood, KL annealing and sampling, for any VAE backbone."""

    _allows_gaps = True

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        # a live view: a likelihood registered later is accepted too
        "likelihood": [StrOptions(LIKELIHOODS.keys())],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "kl_warmup_delay": [Interval(Integral, 0, None, closed="left")],
        "n_importance_samples": [Interval(Integral, 1, None, closed="left")],
        "train_importance_samples": [Interval(Integral, 1, None, closed="left")],
        "prior": [StrOptions({"auto", *PRIORS})],
    }

    def _build_module(self, n_features):
        likelihood = column_likelihood(
            self, LIKELIHOODS[self.likelihood], CategoricalLikelihood
        )
        layout = columns(self, likelihood)
        encoder, decoder = backbone(
            self, layout.n_inputs, likelihood.n_outputs, self.latent_dim
        )
        prior = self.prior
        if prior == "auto":
            prior = "mixture" if _numeric_table(layout) else "normal"
        return VariationalAutoencoder(
            encoder,
            decoder,
            self.latent_dim,
            likelihood,
            layout,
            PRIORS[prior](self.latent_dim),
            self._smoothing(layout),
        )

    def _smoothing(self, layout):
        """The training noise, in standard deviations of each column."""
        return 0.0

    def _auto_trim_fraction(self):
        return LIKELIHOODS[self.likelihood].auto_trim_fraction

    def _loss_schedule(self):
        kl_weight, settled_after = kl_warmup(
            self.beta, self.kl_warmup_epochs, self.kl_warmup_delay
        )
        return LossSchedule(
            settled_after,
            kl_weight=kl_weight,
            n_samples=self.train_importance_samples,
        )

    def _check_values(self, X):
        categorical = self.is_categorical_
        numbers = X[:, ~categorical] if categorical.any() else X  # no copy
        LIKELIHOODS[self.likelihood].check_values(numbers)

    def _scorer(self, validation=False):
        if validation:  # the bound that training maximises
            k = self.train_importance_samples
        else:  # may have been raised after fit, to evaluate more tightly
            self._validate_params()
            k = self.n_importance_samples
        return partial(self.module_.score, n_samples=k), min(k, IW_BLOCK)

    def _feature_scorer(self):
        self._validate_params()
        k = self.n_importance_samples
        return partial(self.module_.feature_scores, n_samples=k), k

    def _imputer(self):
        self._validate_params()
        k = max(self.n_importance_samples, IMPUTE_SAMPLES)
        return partial(self.module_.impute, n_samples=k), k

    def sample(self, n_samples=1, random_state=None):
        """Generate new data: latent codes from the prior, through the decoder.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the latent codes.

        Returns
        -------
        X_new : ndarray or DataFrame of shape (n_samples, n_features)
            The decoder's mean for each code drawn from the prior (pixel
            intensities in [0, 1] with ``likelihood='bernoulli'``); the most
            probable category of categorical columns, as in
            ``inverse_transform``.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        rng = check_random_state(random_state)
        codes = self.module_.prior.sample(n_samples, rng)
        return self._restore(self._forward(self.module_.decode, codes))


@fill_doc(
    hidden_default="(512,)",
    batch_norm_default="False",
    likelihood_default="'heteroscedastic'",
    importance_default="16",
)
class VAE(BaseVAE):
    """Variational autoencoder with dense (fully connected) layers.

    An encoder maps each sample to a Gaussian posterior ``q(z|x)`` over a
    ``latent_dim``-dimensional latent space and a decoder maps latent codes
    back to the parameters of ``p(x|z)``; both are trained by maximising the
    evidence lower bound (ELBO). As a transformer it gives the posterior
    means; as an outlier detector it ranks samples by their log-likelihood.

    Parameters
    ----------
    latent_dim : int, default=8
        Dimension of the latent space: 8 leaves room for the dependencies
        between columns that outliers break; 2 to plot it.

    %(dense_parameters)s

    %(vae_parameters)s

    smoothing : float or 'auto', default='auto'
        Standard deviation of the Gaussian noise added to the numeric
        values of training rows, in units of each column's standard
        deviation: the model fits the data's density smoothed by that
        kernel, as a kernel density estimate does. On tables where many
        rows share a value (zeros, counts) it keeps the per-sample
        variance of 'heteroscedastic' from shrinking onto that value, where
        a normal row slightly off it would score as an outlier. 'auto' is
        0.1 on tables of numeric columns only, which the likelihood
        standardises, and 0 otherwise (with categorical columns it made
        outlier scores worse); a positive value needs a likelihood that
        standardises. Scores are of the rows as given, without noise.

    %(table_parameters)s

    %(training_parameters)s

    Attributes
    ----------
    %(fitted_attributes)s

    %(table_attributes)s

    See Also
    --------
    ConvVAE : The same model with convolutional layers, for images.
    DenoisingAE : A deterministic autoencoder trained to remove noise.
    sklearn.decomposition.PCA : The linear counterpart, with the same API.

    Notes
    -----
    ``score_samples`` estimates each sample's log-likelihood ``log p(x)``
    in nats. With ``K = n_importance_samples`` (16 by default) it is the
    importance-weighted bound ``log mean_k p(x, z_k) / q(z_k|x)``, which
    converges to ``log p(x)`` as ``K`` grows; ``K=1`` gives the ELBO,
    ``E_q[log p(x|z)] - KL(q(z|x) || p(z))``. The posterior draws of a
    sample are fixed by its values, so that scores are deterministic and
    do not depend on which other samples are scored. With a Gaussian
    likelihood numeric columns are standardised inside the model and the
    scaling's Jacobian is part of the score, which is a log-density of the
    data in its own units.
    A row with missing entries is scored by the likelihood of its observed
    ones.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skvae import VAE
    >>> X = MinMaxScaler().fit_transform(load_digits().data)
    >>> vae = VAE(latent_dim=2, likelihood="bernoulli", epochs=5, random_state=0)
    >>> vae.fit_transform(X).shape
    (1797, 2)
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    """

    _parameter_constraints = {
        **BaseVAE._parameter_constraints,
        **BaseVAE._TABLE_CONSTRAINTS,
        "smoothing": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        latent_dim=8,
        hidden_layer_sizes=(512,),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        likelihood="heteroscedastic",
        beta=1.0,
        kl_warmup_epochs=10,
        kl_warmup_delay=0,
        n_importance_samples=16,
        train_importance_samples=1,
        prior="auto",
        smoothing="auto",
        categorical_features="from_dtype",
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
        self.smoothing = smoothing
        self.categorical_features = categorical_features
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

    def _smoothing(self, layout):
        if self.smoothing == "auto":
            return AUTO_SMOOTHING if _numeric_table(layout) else 0.0
        if self.smoothing and not layout.standardised:
            raise ValueError(
                f"smoothing={self.smoothing} is in standard deviations of the "
                f"numeric columns, which likelihood={self.likelihood!r} does not "
                f"standardise; use smoothing=0 or a Gaussian likelihood "
                f"('heteroscedastic' or 'gaussian')."
            )
        return float(self.smoothing)
