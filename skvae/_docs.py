"""Parameter and attribute docs shared by the estimators' docstrings.

A class docstring names a fragment as ``%(name)s`` on a line of its own;
``fill_doc`` fills it in at that line's indentation, so that one parameter is
documented once and reads the same everywhere.
"""

import re
import textwrap

_FRAGMENTS = {
    "dense_parameters": """\
    hidden_layer_sizes : tuple of int, default=%(hidden_default)s
        Widths of the encoder's hidden layers; the decoder mirrors them.
        An empty tuple gives a linear encoder and decoder.

    activation : {'relu', 'leaky_relu', 'elu', 'gelu', 'selu', 'silu', \
'tanh', 'sigmoid'}, default='relu'
        Activation after every hidden layer.

    dropout : float in [0, 1), default=0.0
        Dropout rate after every hidden layer (channel dropout after
        convolutions).

    batch_norm : bool or 'auto', default=%(batch_norm_default)s
        Batch normalisation before every activation. 'auto' uses it in
        convolutional backbones, where it speeds up training markedly, and
        not in dense ones, where it does not help. Training with it needs at
        least two samples.""",
    "conv_parameters": """\
    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(height, width, channels)`` of the images,
        channels last, each row of ``X`` being one flattened image. ``None``
        takes the shape of a 3-D/4-D ``X``, or else assumes square
        single-channel images (784 features -> 28x28). One entry may be -1,
        inferred from the number of features as in ``numpy.reshape``:
        ``(1, -1)`` treats each row as a 1-D signal.

    channels : tuple of int, default=(32, 64)
        Output channels of the encoder's convolution blocks. Each block
        halves height and width (rounding up); the decoder mirrors them
        with transposed convolutions, so any image size works.

    kernel_size : int, default=3
        Odd side length of the convolution kernels.""",
    "vae_parameters": """\
    likelihood : {'heteroscedastic', 'gaussian', 'bernoulli'}, \
default=%(likelihood_default)s
        Decoder distribution ``p(x|z)``. 'heteroscedastic' is a Gaussian
        whose variance the decoder predicts for each sample and feature
        (at least 1e-3 of the data's variance, and for values on a grid,
        such as counts, at least the rounding's variance ``step**2 / 12``),
        a density that is tight where the data is and wide where it
        spreads: the best outlier scores on tables. 'gaussian' learns one
        variance per feature (floored at 1e-3 of the data's standard
        deviation). Both standardise numeric columns inside dense models.
        'bernoulli' needs ``X`` in [0, 1] (scale with ``MinMaxScaler``)
        and suits pixel intensities.

    beta : float, default=1.0
        Weight of the KL term in the training loss (beta-VAE). Scores
        always use the true ELBO, that is weight 1.

    kl_warmup_epochs : int, default=10
        KL annealing: number of epochs over which the KL weight rises
        linearly to ``beta``, reaching it in the last of them. Annealing
        keeps the latent space from collapsing before the decoder has
        learned to use it (on small data sets without it, a Bernoulli VAE
        often settles on codes that carry no information). Epochs count
        ``partial_fit`` calls too; 0 switches annealing off.

    kl_warmup_delay : int, default=0
        Epochs with KL weight 0 before the rise starts (pure
        reconstruction training). Early stopping only starts counting
        once the weight has reached ``beta``.

    n_importance_samples : int, default=%(importance_default)s
        Posterior samples ``K`` behind ``score_samples``, ``score``,
        ``decision_function`` and ``offset_``: the importance-weighted
        bound of Burda et al. (2016), which rises towards ``log p(x)`` as
        ``K`` grows; ``K=1`` is the ELBO, which ranks outliers less
        steadily. Scoring costs about ``K`` decoder passes per sample, in
        bounded memory. It may be raised after ``fit`` to evaluate a
        trained model more tightly (e.g.
        ``set_params(n_importance_samples=1000)``); ``offset_`` keeps the
        value it had at ``fit``. Validation scores (early stopping) use
        the bound that training maximises (``train_importance_samples``).

    train_importance_samples : int, default=1
        Posterior samples ``K`` per row in the training objective. 1
        trains on the ELBO (a standard VAE); ``K > 1`` trains on the
        ``K``-sample importance-weighted bound (an IWAE, Burda et al.,
        2016), which gives models of higher ``log p(x)`` at about ``K``
        times the decoder work per step (see the quality benchmark). The
        KL weight (``beta``, warm-up) then scales each draw's log ratio of
        prior to posterior.

    prior : {'auto', 'normal', 'mixture'}, default='auto'
        The distribution ``p(z)`` of the latent codes. 'normal' is
        ``N(0, I)``. 'mixture' is a mixture of 30 diagonal Gaussians
        learned with the model: on data made of groups (classes, regimes)
        it leaves no prior mass between the groups' codes, so rows that
        fall between groups score lower; its KL term is a Monte Carlo
        estimate. 'auto' takes 'mixture' for numeric tables (a dense model
        whose likelihood standardises the columns, none of them
        categorical) and 'normal' otherwise: with categorical columns, the
        posterior of a row with a category not seen in ``fit`` can land
        where the mixture is dense and score the row as normal.
        ``sample`` draws codes from it; ``plot_manifold``'s grid follows
        ``N(0, 1)`` quantiles whatever the prior.""",
    "table_parameters": """\
    categorical_features : 'from_dtype', array-like of int, str or bool, \
or None, default='from_dtype'
        Which columns hold categories. 'from_dtype' takes a data frame's
        category, string/object and boolean columns (and none of an
        array's); indices, column names or a boolean mask name them; None
        means none. Each categorical column gets a categorical likelihood
        over the categories seen in ``fit`` (the encoder sees it one-hot);
        a category not seen in ``fit`` scores as the column's least likely
        one and reaches the encoder as no category, with a warning.
        ``inverse_transform``, ``sample`` and ``impute`` give back the
        categories themselves. With ``VAE``'s Gaussian likelihood, numeric
        columns of any scale need no scaler: it standardises them inside
        (scores stay in the data's units); ``DenoisingAE`` works in the
        data's units.""",
    "table_attributes": """\
    is_categorical_ : ndarray of shape (``n_features_in_``,), dtype=bool
        Which columns are modelled as categorical.

    categories_ : list of ndarray
        The categories seen in ``fit`` of each categorical column, in
        column order; a column's code is the index of its category here.""",
    "training_parameters": """\
    epochs : int or 'auto', default='auto'
        Most passes over the training data. 'auto' allows as many as
        3,000 optimizer steps take, and at least 50: 1,000 passes over 300
        rows in batches of 128, 50 over 60,000. Early stopping ends
        training sooner once the validation score stops improving. If the
        cap ends training while the score still improves, ``fit`` warns
        with a ``ConvergenceWarning``.

    batch_size : int, default=128
        Samples per gradient step; capped at the number of training samples.

    learning_rate : float, default=1e-3
        Step size of the optimizer.

    learning_rate_schedule : {'constant', 'cosine'}, default='constant'
        How the step size changes from epoch to epoch. 'cosine' lowers it
        along half a cosine from ``learning_rate`` to 2%% of it over the
        first ``epochs`` epochs (with 'auto', its cap) the model trains
        (``n_iter_``, counted across ``partial_fit`` calls too) and keeps
        it there. With the noise of the late steps damped, a model that
        has time to converge ends at a better optimum (2.6 nats on the test
        ELBO of a 50-epoch VAE on MNIST); with too few epochs for that,
        'constant' learns more.

    optimizer : {'adam', 'adamw', 'rmsprop', 'sgd'}, default='adam'
        Optimisation algorithm ('sgd' uses Nesterov momentum 0.9).

    weight_decay : float, default=0.0
        L2 penalty (decoupled for 'adamw').

    validation_fraction : float in [0, 1), default=0.1
        Share of the training data held out to compute
        ``validation_scores_`` after each epoch and to early-stop on. 0
        trains on all data; early stopping then watches the training loss.

    early_stopping : bool, default=True
        Stop when the validation score (or, without validation, the
        training loss) has not improved by ``tol`` for
        ``n_iter_no_change`` epochs. With validation, the weights of the
        best epoch are restored.

    n_iter_no_change : int or 'auto', default='auto'
        Patience of early stopping, in epochs. 'auto' waits 10 epochs, or
        as many as 100 optimizer steps take if that is more (on tables of
        a few hundred rows, where ten epochs are a few dozen steps).

    tol : float, default=1e-4
        Minimum improvement (nats per sample for scores) that resets the
        patience.

    contamination : float in (0, 0.5], default=0.1
        Expected share of outliers in the training data; sets ``offset_``
        so that ``predict`` flags that share of the training samples.

    trim_fraction : float in [0, 0.5) or 'auto', default='auto'
        Share of each training batch that counts less in its gradient step:
        the samples the model fits worst (highest loss), which weigh
        ``trim_weight``. Outliers among the training samples are then
        hardly learned, which makes ``score_samples`` rank them lower: to
        detect outliers in unlabeled, contaminated data, set it at or above
        the share of outliers you expect. 0 fits every sample alike.
        'auto' is 0.1 with ``likelihood='heteroscedastic'`` (``VAE``'s
        default), whose variance per sample lets the hard part of normal
        data still be learned, and 0 otherwise: with one variance per
        feature, or none, down-weighting the worst-fitted samples shrinks
        the spread the model learns, and held-out samples score lower.

    trim_weight : float in [0, 1], default=0.3
        Weight of the ``trim_fraction`` worst samples of each batch in its
        loss, the others weighing 1. 0 leaves them out of training, which
        ranks outliers in the training data best but leaves the hardest
        part of normal data unlearned. ``loss_curve_`` records the weighted
        mean loss.

    device : str, default='auto'
        Torch device: 'auto' (CUDA when available, else CPU), 'cpu',
        'cuda', 'cuda:N' or 'mps'. An unavailable device is an error. A
        fitted model moves to the device this resolves to when it is next
        used: ``set_params(device='cuda')`` and then ``predict`` runs on the
        GPU, and a model fitted on a CPU with ``'auto'`` uses the GPU of the
        machine that loads it.

    compile : bool, default=False
        Compile the training objective with ``torch.compile``: its forward
        and backward passes run as a few fused kernels instead of one per
        operation, which pays on a GPU, where a small network spends most of
        a step launching kernels. Compiling costs seconds to a minute at the
        start of training (once more for the first epoch's last, smaller
        batch, and once when the KL weight first changes); torch keeps the
        compiled code for later fits in the process. Random draws differ
        from uncompiled training, so the models do too (seeded results are
        still reproducible). Inference is not compiled. On the CPU it needs
        a C++ compiler and gains little.

    mixed_precision : {None, 'bf16'}, default=None
        'bf16' trains under bfloat16 autocast: the networks' matrix products
        and convolutions run in bfloat16, which GPUs with bfloat16 units
        (NVIDIA Ampere and newer) compute many times faster than float32;
        it pays when those products dominate a training step. Weights,
        optimizer state and the loss terms stay float32, and so does
        inference (``transform``, ``score_samples``, validation scores).
        CPUs without bfloat16 instructions run it slower than float32.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch order, noise and the validation
        split. An int gives identical models on the CPU; torch's global
        random state is left as it was.

    verbose : int, default=0
        0 is quiet, 1 shows a progress bar with the current loss, 2 also
        prints a line per epoch.

    warm_start : bool, default=False
        When True, ``fit`` continues training the current model instead of
        starting a new one. Like ``partial_fit``, it trains on with the
        current ``learning_rate``, schedule and ``weight_decay`` (the
        optimizer keeps its state), so that ``set_params`` between calls
        can lower the learning rate; a changed ``optimizer`` starts a new
        one.

    checkpoint : str, path-like or None, default=None
        File that the model is saved to (as by ``save``) after every epoch,
        replacing it atomically, so that a crash or a killed job loses at
        most the running epoch: ``skvae.load(checkpoint)`` gives the usable
        model after the last finished epoch, and ``fit`` with
        ``warm_start=True`` trains it on. Each checkpoint costs a write of
        the model and a pass over the training data, which sets
        ``offset_``.

    log_dir : str, path-like or None, default=None
        Folder for TensorBoard event files of the training curves (needs
        the tensorboard package: ``pip install tensorboard``).
        Each ``fit`` and ``partial_fit`` call adds an event file with one
        point per epoch, at step ``n_iter_``, so that ``warm_start`` and
        ``partial_fit`` continue the curves: ``train/loss`` (as in
        ``loss_curve_``), the VAEs' loss terms per sample
        ``train/reconstruction_nll`` (``-log p(x|z)``, nats) and
        ``train/kl`` (the draws' mean with ``train_importance_samples``
        above 1), the KL weight ``train/kl_weight``, ``train/n_samples``
        (``train_importance_samples``), and
        ``validation/score``. Give each model its own folder: TensorBoard
        shows a folder as one run. None logs nothing.""",
    "fitted_attributes": """\
    module_ : torch.nn.Module
        The trained network (for advanced use; the estimator's methods take
        and return numpy arrays).

    device_ : str
        Device the model lives on (see ``device``).

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    loss_curve_ : list of float
        Mean training loss per sample of each epoch, in nats for the VAEs;
        the worst-fitted samples weigh as ``trim_fraction`` and
        ``trim_weight`` say.

    validation_scores_ : list of float or None
        Mean ``score_samples`` on the validation split after each epoch,
        None when ``validation_fraction=0``.

    n_iter_ : int
        Number of epochs trained (``partial_fit`` calls included).

    offset_ : float
        ``decision_function = score_samples - offset_``; the
        ``contamination`` quantile of the training scores.""",
}


# a fragment's place in a docstring: ``%(name)s`` alone on its line
_PLACEHOLDER = re.compile(r"^( *)%\((\w+)\)s$", re.MULTILINE)


def fill_doc(**defaults):
    """Class decorator: fill the fragments, with ``defaults``, into the docstring.

    Each fragment is indented like the line that names it, so that the
    docstring keeps one indentation however the source is formatted. Only
    the fragments a docstring names need their defaults.
    """

    def fill(match):
        indent, name = match.groups()
        return textwrap.indent(textwrap.dedent(_FRAGMENTS[name]) % defaults, indent)

    def decorate(cls):
        cls.__doc__ = _PLACEHOLDER.sub(fill, cls.__doc__)
        return cls

    return decorate
