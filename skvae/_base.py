"""The estimator core shared by every skvae model.

``BaseAutoencoder`` holds everything that is not a network or a loss: input
validation, device choice, the seeded training loop with validation split,
early stopping, checkpoints and clean interrupts, batched inference, the
outlier-detection API and persistence (pickle and ``save``). A
model subclass only declares its parameters and builds its torch module (see
``_models.py``) in ``_build_module``.
"""

import math
import os
import sys
import warnings
from contextlib import contextmanager, nullcontext
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OutlierMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from tqdm.auto import tqdm

from ._cpu import cpu_training, step_threads
from ._cuda import cudnn_autotuning
from ._data import (
    DeviceRows,
    check_float32_range,
    map_chunks,
    output_dtype,
    refuse_dates,
)
from ._images import check_image_array, flatten_images, resolve_image_shape
from ._logging import training_log
from ._networks import ACTIVATIONS, conv_backbone, mlp_backbone

# name: (class, settings beyond learning rate and weight decay)
OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
}

# values in the widest layer per forward pass at inference time (8 MB of
# float32); larger chunks only add memory traffic
_INFERENCE_ELEMENTS = 2**21
# training rows a new model takes its data statistics from (means, variance)
_INIT_SAMPLES = 10_000
FUSED = {"adam", "adamw", "sgd"}  # optimizers with a fused kernel in torch
# the share of learning_rate that the cosine schedule ends at
_COSINE_FLOOR = 0.02

CONV_CONSTRAINTS = {
    "image_shape": [None, tuple, list],
    "channels": ["array-like"],
    "kernel_size": [Interval(Integral, 1, None, closed="left")],
}


def resolve_device(device):
    """The ``torch.device`` for the ``device`` parameter, or a clear ValueError."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', "
            f"'cuda' or 'cuda:N'."
        ) from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested, but CUDA is not available "
                f"to this torch build ({torch.__version__}); use device='cpu' "
                f"or device='auto'."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested, but only "
                f"{torch.cuda.device_count()} CUDA device(s) are visible."
            )
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was requested, but MPS is not available.")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda' or 'mps'."
        )
    return resolved


@contextmanager
def _seeded_torch(seed, device):
    """Seed torch for reproducible training without touching the caller's RNG."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


def _positive_ints(value, name, allow_empty):
    """``value`` as a tuple of positive ints (an int alone is a 1-tuple)."""
    sizes = (value,) if isinstance(value, Integral) else tuple(value)
    if not all(isinstance(s, Integral) and s >= 1 for s in sizes) or (
        not sizes and not allow_empty
    ):
        raise ValueError(
            f"{name} must be a sequence of positive integers, got {value!r}."
        )
    return tuple(int(s) for s in sizes)


def _to_cpu(obj):
    """``obj`` with every tensor inside (dicts, lists) moved to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


class BaseAutoencoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, OutlierMixin, BaseEstimator
):
    """Base class of skvae's estimators. Not for direct use."""

    _parameter_constraints = {
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean", StrOptions({"auto"})],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_schedule": [StrOptions({"constant", "cosine"})],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "trim_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "device": [str, torch.device],
        "compile": ["boolean"],
        "mixed_precision": [None, StrOptions({"bf16"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "checkpoint": [None, str, os.PathLike],
        "log_dir": [None, str, os.PathLike],
    }

    # True for models that read X as images (conv backbone)
    _image_input = False

    # ---- hooks for the models -------------------------------------------------

    def _build_module(self, n_features):
        """The untrained torch model for rows of ``n_features`` values."""
        raise NotImplementedError

    def _loss_kwargs(self, epoch):
        """Keyword arguments of ``module.loss`` for the given (0-based) epoch."""
        return {}

    def _annealing_epochs(self):
        """Leading epochs whose objective differs from the final one.

        Early stopping ignores them: their scores are not comparable.
        """
        return 0

    def _check_values(self, X):
        """Model-specific checks of the values of a validated ``X``."""

    def _scorer(self, validation=False):
        """The per-row function of ``score_samples``, and its cost per row.

        With ``validation``, the function of the validation score, which
        early stopping watches. The cost counts decoder passes per row;
        inference chunks shrink by it so that memory stays bounded.
        """
        return self.module_.score, 1

    # ---- scikit-learn API -----------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the model on ``X``.

        Data that fits is converted to float32 and moved to the device once.
        An ``np.memmap`` (of any numeric dtype, e.g. uint8 images) is
        streamed instead, batch by batch, so that memory use grows with
        ``batch_size`` and not with the data set. A new model takes its data
        statistics (mean sample, variance) from up to 10,000 random rows.

        Ctrl-C (``KeyboardInterrupt``) stops training cleanly: the epoch it
        interrupts is discarded, the model keeps the weights of the best
        epoch (by validation score, with early stopping) or else of the last
        finished one, ``fit`` warns and returns the usable estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. Image models also take ``(n_samples, height,
            width[, channels])`` arrays.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        fresh = not (self.warm_start and hasattr(self, "module_"))
        X = self._validate_X(X, reset=fresh)
        if fresh:
            self._rng = check_random_state(self.random_state)
        train, val = self._split(X.shape[0])
        self._train(X, train, val, self.epochs, fresh)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one pass over ``X``, keeping what was learned before.

        Use it to train on data that arrives in chunks. There is no
        validation split and no early stopping; ``offset_`` is recomputed
        on ``X``. The model's statistics of the data (see ``fit``) are
        taken from the first chunk. Ctrl-C (``KeyboardInterrupt``) leaves
        the model as it was before the call, with a warning.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The updated estimator.
        """
        fresh = not hasattr(self, "module_")
        X = self._validate_X(X, reset=fresh)
        if fresh:
            self._rng = check_random_state(self.random_state)
        self._train(X, np.arange(X.shape[0]), None, 1, fresh)
        return self

    def transform(self, X):
        """Encode ``X`` into the latent space (posterior means, deterministic).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, latent_dim)
            The latent codes.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._forward(self.module_.embed, X)

    def inverse_transform(self, X):
        """Decode latent codes back into data space.

        Parameters
        ----------
        X : array-like of shape (n_samples, latent_dim)
            Latent codes, for example the output of ``transform``.

        Returns
        -------
        X_decoded : ndarray of shape (n_samples, n_features)
            The decoder's mean for each code (flattened images for image
            models).
        """
        check_is_fitted(self)
        refuse_dates(X)
        Z = check_array(X, dtype=[np.float64, np.float32])
        check_float32_range(Z)
        if Z.shape[1] != self.latent_dim:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__} decodes "
                f"codes of latent_dim={self.latent_dim}; pass the output of transform."
            )
        return self._forward(self.module_.decode, Z)

    def score_samples(self, X):
        """Per-sample score: higher means more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The model's score for each sample (see the class docstring for
            its exact definition). Deterministic for a fitted model.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        self._check_values(X)
        fn, cost = self._scorer()
        return self._forward(fn, X, cost)

    def score(self, X, y=None):
        """Mean of ``score_samples`` over ``X``; used by ``GridSearchCV``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            The average score, higher is better.
        """
        return float(np.mean(self.score_samples(X)))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to rate.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            Shifted scores; the ``contamination`` share of the training data
            lies below zero.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each sample as inlier (+1) or outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    @property
    def _n_features_out(self):
        return self.latent_dim

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ---- input ----------------------------------------------------------------

    def _validate_X(self, X, reset):
        """Validated numeric ``X``; image arrays are flattened for image models.

        Numeric arrays keep their dtype (a uint8 memmap stays one, not a
        float64 copy); rows are converted to float32 batch by batch.
        """
        refuse_dates(X)
        array_shape = None
        if self._image_input:
            X, array_shape = flatten_images(X)
        numeric = isinstance(X, np.ndarray) and X.dtype.kind in "biuf"
        dtype = None if numeric else [np.float64, np.float32]
        X = validate_data(self, X, reset=reset, dtype=dtype)
        check_float32_range(X)
        if not self._image_input:
            return X
        if reset:
            self.image_shape_ = resolve_image_shape(
                self.image_shape, array_shape, X.shape[1]
            )
        else:
            check_image_array(array_shape, self.image_shape_)
        return X

    def _split(self, n_samples):
        """Indices of the training and validation rows (validation None if off)."""
        if self.validation_fraction == 0:
            return np.arange(n_samples), None
        n_val = math.ceil(self.validation_fraction * n_samples)
        if n_val >= n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no training "
                f"sample with n_samples={n_samples}; pass more samples or set "
                f"validation_fraction=0."
            )
        order = self._rng.permutation(n_samples)
        return order[n_val:], order[:n_val]

    def _backbone(self, n_features, code_dim):
        """Encoder and decoder networks as set by the architecture parameters."""
        hidden = _positive_ints(self.hidden_layer_sizes, "hidden_layer_sizes", True)
        common = dict(
            activation=self.activation,
            dropout=self.dropout,
            batch_norm=self._batch_norm(),
        )
        if not self._image_input:
            return mlp_backbone(n_features, code_dim, hidden, **common)
        if self.kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd so that each block exactly halves the "
                f"image, got kernel_size={self.kernel_size}."
            )
        channels = _positive_ints(self.channels, "channels", False)
        return conv_backbone(
            self.image_shape_, code_dim, channels, self.kernel_size, hidden, **common
        )

    def _batch_norm(self):
        """``batch_norm`` with 'auto' resolved: on for conv backbones only."""
        return self._image_input if self.batch_norm == "auto" else self.batch_norm

    # ---- training -------------------------------------------------------------

    def _make_optimizer(self):
        optimizer, kwargs = OPTIMIZERS[self.optimizer]
        kwargs = dict(kwargs, lr=self.learning_rate, weight_decay=self.weight_decay)
        on_fused_device = torch.device(self.device_).type in ("cpu", "cuda")
        if self.optimizer in FUSED and on_fused_device:
            kwargs["fused"] = True  # one kernel for all parameters: 25% faster here
        return optimizer(self.module_.parameters(), **kwargs)

    def _follow_optimizer_params(self):
        """Train on with the optimizer parameters as they are set now.

        ``set_params`` between calls takes effect: a new weight decay keeps
        the optimizer's state, another ``optimizer`` starts a new one. (Each
        epoch sets its learning rate.)
        """
        if type(self._optimizer) is not OPTIMIZERS[self.optimizer][0]:
            self._optimizer = self._make_optimizer()
            return
        for group in self._optimizer.param_groups:
            group["weight_decay"] = self.weight_decay

    def _set_learning_rate(self, optimizer):
        """Set the learning rate of the coming epoch (number ``n_iter_``); return it."""
        learning_rate = self.learning_rate
        if self.learning_rate_schedule == "cosine":
            progress = min(self.n_iter_ / self.epochs, 1.0)
            cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
            learning_rate *= _COSINE_FLOOR + (1 - _COSINE_FLOOR) * cosine
        for group in optimizer.param_groups:
            group["lr"] = learning_rate
        return learning_rate

    def _start(self, sample, device):
        """Build a fresh module, set from a data sample, and reset the record."""
        module = self._build_module(sample.shape[1]).to(device)
        module.initialise(sample)
        self.module_ = module
        self.device_ = str(device)
        self._optimizer = self._make_optimizer()
        self.n_iter_ = 0
        self.loss_curve_ = []
        self.validation_scores_ = [] if self.validation_fraction > 0 else None

    def _train(self, X, train, val, epochs, fresh):
        """Run ``epochs`` passes over rows ``train`` of ``X``, then set ``offset_``.

        ``val`` holds the validation rows, or is None.
        """
        min_batch = 2 if self._batch_norm() else 1
        if train.shape[0] < min_batch:
            raise ValueError(
                f"Batch normalisation needs at least 2 training samples, got "
                f"n_samples={train.shape[0]}; pass more samples or batch_norm=False."
            )
        self._check_values(X)
        self._check_checkpoint()
        device = resolve_device(self.device) if fresh else self._sync_device()
        seed = int(self._rng.randint(np.iinfo(np.int32).max))
        # the log opens first: a missing tensorboard fails before training
        with training_log(self.log_dir) as log, _seeded_torch(seed, device):
            rows = DeviceRows(X, device)
            train = rows.indices(train)
            val = None if val is None else rows.indices(val)
            if fresh:
                sample = train[torch.randperm(len(train), device=train.device)]
                self._start(rows.take(sample[:_INIT_SAMPLES]), device)
            else:
                self._follow_optimizer_params()
            try:
                batch_size = min(self.batch_size, len(train))
                with self._device_training(device, X.shape[1], batch_size):
                    self._run_epochs(rows, train, val, epochs, batch_size, log)
            finally:  # whatever stopped training, the model stays consistent
                self.module_.eval()
                self._set_offset(rows)

    def _device_training(self, device, n_features, batch_size):
        """On the CPU: the threads a training step needs, denormals flushed.

        On CUDA: cuDNN's autotuning of convolutions.
        """
        if device.type == "cuda":
            return cudnn_autotuning()
        if device.type != "cpu":
            return nullcontext()
        _, decoder_passes = self._scorer(validation=True)  # as in training
        n = step_threads(
            self.module_, n_features, self.latent_dim, batch_size, decoder_passes
        )
        return cpu_training(n)

    def _sync_device(self):
        """The device that ``device`` resolves to now, with the model moved there.

        A fitted model follows its ``device`` parameter: inference and further
        training run where ``set_params(device=...)`` points, or on a GPU that
        ``'auto'`` finds on a machine other than the one that fitted it.
        """
        device = resolve_device(self.device)
        if str(device) != self.device_:
            self.module_.to(device)  # in place: the optimizer keeps its parameters
            # loading its own state casts the moments to the parameters' device
            self._optimizer.load_state_dict(self._optimizer.state_dict())
            self.device_ = str(device)
        return device

    def _check_checkpoint(self):
        """Fail now, not after the first epoch, if the checkpoint cannot be written."""
        if self.checkpoint is None:
            return
        folder = os.path.dirname(os.path.abspath(self.checkpoint))
        if not os.path.isdir(folder):
            raise ValueError(
                f"checkpoint={self.checkpoint!r} cannot be written: the folder "
                f"{folder!r} does not exist. Create it or choose another path."
            )

    def _run_epochs(self, rows, train, val, epochs, batch_size, log):
        module, optimizer = self.module_, self._optimizer
        n_samples = train.shape[0]
        best, best_state, stale = -np.inf, None, 0
        validating = val is not None
        keep_best = self.early_stopping and validating
        n_before = self.n_iter_
        unfinished = None  # the weights from before the epoch that is running
        bar = tqdm(range(epochs), disable=self.verbose < 1, unit="epoch", leave=False)
        # torch keeps compiled code for the process: later fits reuse it
        loss_fn = torch.compile(module.loss) if self.compile else module.loss
        try:
            for _ in bar:
                unfinished = _clone_state(module)
                loss_kwargs = self._loss_kwargs(self.n_iter_)
                learning_rate = self._set_learning_rate(optimizer)
                terms = log.epoch_terms()  # None unless log_dir is set
                module.train()
                total = torch.zeros((), device=rows.device)
                order = train[torch.randperm(n_samples, device=train.device)]
                # a lone leftover sample cannot be batch-normalised; it is left
                # out of this epoch only (the order is new each epoch)
                n_used = n_samples - (
                    n_samples % batch_size == 1 and self._batch_norm()
                )
                for start in range(0, n_used, batch_size):
                    batch = rows.take(order[start : min(start + batch_size, n_used)])
                    with self._autocast(rows.device):
                        row_losses = loss_fn(batch, terms=terms, **loss_kwargs)
                    loss = self._batch_loss(row_losses)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    total += loss.detach() * batch.shape[0]
                epoch_loss = (total / n_used).item()  # the epoch's only host sync
                module.eval()
                if not math.isfinite(epoch_loss):
                    self._diverged(unfinished)
                metric = self._mean_score(rows, val) if validating else -epoch_loss
                # the epoch counts once it is recorded, its weights stand
                self.n_iter_ += 1
                self.loss_curve_.append(epoch_loss)
                if validating:
                    self.validation_scores_.append(metric)
                unfinished = None
                self._report(bar, epoch_loss, validating)
                settings = {**loss_kwargs, "learning_rate": learning_rate}
                log.write(self, settings, n_used, validating)
                if self.checkpoint is not None:
                    self._set_offset(rows)
                    self.save(self.checkpoint)
                if self.n_iter_ <= self._annealing_epochs():
                    continue
                if metric > best + self.tol:
                    best, stale = metric, 0
                    if keep_best:
                        best_state = _clone_state(module)
                else:
                    stale += 1
                if self.early_stopping and stale >= self.n_iter_no_change:
                    break
        except KeyboardInterrupt:
            if unfinished is not None:
                self._restore(unfinished)
            self._warn_interrupted(self.n_iter_ - n_before, epochs, best_state)
        finally:
            bar.close()
        if best_state is not None:
            module.load_state_dict(best_state)

    def _autocast(self, device):
        """The networks' products in bfloat16 while training, if asked for.

        Models keep their loss terms in float32 (see ``_models.py``).
        """
        if self.mixed_precision is None:
            return nullcontext()
        return torch.autocast(device.type, dtype=torch.bfloat16)

    def _batch_loss(self, row_losses):
        """Mean loss of the batch, without its ``trim_fraction`` worst rows."""
        n_kept = math.ceil((1 - self.trim_fraction) * row_losses.shape[0])
        if n_kept < row_losses.shape[0]:
            row_losses = torch.topk(row_losses, n_kept, largest=False).values
        return row_losses.mean()

    def _restore(self, state):
        """Go back to the weights ``state``, with a fresh optimizer.

        The optimizer's moments belong to the steps that are undone.
        """
        self.module_.load_state_dict(state)
        self._optimizer = self._make_optimizer()

    def _warn_interrupted(self, n_done, epochs, best_state):
        """Say that training stopped at a ``KeyboardInterrupt``, and what is kept."""
        if best_state is not None:
            kept = "the weights of the epoch with the best validation score"
        elif n_done:
            kept = "the weights of the last finished epoch"
        elif self.n_iter_:
            kept = "the weights it had before this call"
        else:
            kept = "its initial weights, as no epoch finished"
        warnings.warn(
            f"Training was interrupted after {n_done} of {epochs} epochs; the "
            f"model keeps {kept}. Call fit with warm_start=True, or partial_fit, "
            f"to train on.",
            UserWarning,
            stacklevel=6,  # the caller of fit or partial_fit
        )

    def _diverged(self, good_state):
        """Restore the weights from before the failed epoch and raise."""
        self._restore(good_state)
        raise FloatingPointError(
            f"The training loss became NaN or infinite in epoch {self.n_iter_ + 1}. "
            f"The weights from before that epoch were restored. Likely causes: "
            f"learning_rate={self.learning_rate} is too large, or the inputs are "
            f"not scaled (try StandardScaler or MinMaxScaler)."
        )

    def _report(self, bar, epoch_loss, validating):
        """Progress: postfix of the bar (verbose=1), a line per epoch (verbose=2)."""
        if self.verbose < 1:
            return
        line = {"loss": epoch_loss}
        if validating:
            line["validation score"] = self.validation_scores_[-1]
        bar.set_postfix({k.split()[0]: f"{v:.4g}" for k, v in line.items()})
        if self.verbose >= 2:
            text = ", ".join(f"{k} {v:.4f}" for k, v in line.items())
            bar.write(f"epoch {self.n_iter_}: {text}", file=sys.stderr)

    # ---- inference ------------------------------------------------------------

    def _chunk_size(self, cost=1):
        """Rows per inference pass: about 2M values in the widest layer.

        ``cost`` is the work per row relative to one forward pass.
        """
        return max(1, _INFERENCE_ELEMENTS // self.module_.encoder.widest // cost)

    def _mean_score(self, rows, index):
        """Mean score of the rows at ``index`` (validation)."""
        fn, cost = self._scorer(validation=True)
        with torch.inference_mode():
            chunks = index.split(self._chunk_size(cost))
            scores = [fn(rows.take(c)) for c in chunks]
            return float(torch.cat(scores).mean())

    def _set_offset(self, rows):
        """``offset_``: the ``contamination`` quantile of the scores of all ``rows``."""
        fn, cost = self._scorer()
        with torch.inference_mode():
            scores = rows.map_chunks(fn, self._chunk_size(cost)).double().numpy()
        self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))

    def _forward(self, fn, X, cost=1):
        """``fn`` applied to the rows of ``X`` in chunks, where ``device`` points.

        ``cost`` is the work per row relative to one forward pass. The
        result is a numpy array of ``X``'s float dtype (float64 for other
        dtypes).
        """
        device = self._sync_device()
        with torch.inference_mode():
            out = map_chunks(fn, X, self._chunk_size(cost), device)
        return out.numpy().astype(output_dtype(X), copy=False)

    # ---- persistence ----------------------------------------------------------

    def save(self, path):
        """Save the fitted estimator to a file that ``skvae.load`` reads back.

        The file holds the parameters, the fitted attributes and the state of
        the network and its optimizer as plain values and tensors only, so
        that it loads with ``torch.load(path, weights_only=True)``: unlike a
        pickle, loading it cannot run code. It is written to a temporary
        file beside ``path`` and then renamed, so that ``path`` never holds a
        partly written model.

        Parameters
        ----------
        path : str or path-like
            Where to write the model; an existing file is replaced.
        """
        # imported here: the persistence module imports the estimators
        from ._persistence import save_estimator

        check_is_fitted(self)
        save_estimator(self, path)

    # pickle and save share these: the network and optimizer as CPU state dicts

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object's is the live __dict__
        if "module_" in state:
            state["module_"] = _to_cpu(self.module_.state_dict())
            state["_optimizer"] = _to_cpu(self._optimizer.state_dict())
        return state

    def __setstate__(self, state):
        module_state = state.pop("module_", None)
        optimizer_state = state.pop("_optimizer", None)
        super().__setstate__(state)
        if module_state is None:
            return
        if _available(self.device_):
            device = torch.device(self.device_)
        else:
            note = ""
            if not _available(self.device):  # e.g. 'cuda': follow the fallback
                self.device, note = "cpu", " and its device parameter set to 'cpu'"
            warnings.warn(
                f"This model was fitted on {self.device_}, which is not available "
                f"here; it is loaded on the CPU{note}.",
                UserWarning,
                stacklevel=2,
            )
            device = torch.device("cpu")
            self.device_ = "cpu"
        with torch.random.fork_rng(devices=[]):  # building draws initial weights
            self.module_ = self._build_module(self.n_features_in_)
        self.module_.load_state_dict(module_state)
        self.module_.to(device).eval()
        self._optimizer = self._make_optimizer()
        self._optimizer.load_state_dict(optimizer_state)


def _available(device):
    try:
        resolve_device(device)
    except ValueError:
        return False
    return True


def _clone_state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
