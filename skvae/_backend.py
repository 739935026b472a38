"""How an estimator's parameters drive the torch parts below it.

``TorchBackend`` is the half of ``BaseAutoencoder`` that speaks torch:
it builds the module and its optimizer, assembles the training loop from
its parts (``training/``) for each ``fit`` or ``partial_fit`` call, keeps
the module on the device that ``device`` names, and runs inference in
chunks. The estimator supplies ``_build_module``, ``_loss_schedule``,
``_check_values`` and ``_scorer`` (see ``_base.py``).
"""

import math
from contextlib import nullcontext

import numpy as np
import torch
from torch import nn

from .training import callbacks
from .training.cpu import cpu_threads, cpu_training, free_cores, step_threads
from .training.cuda import cudnn_autotuning
from .training.data import DeviceRows, map_chunks, output_dtype
from .training.devices import resolve_device, seeded_torch
from .training.loop import TrainingRun, make_step, run_training
from .training.optimizers import follow_optimizer_params, make_optimizer
from .training.tensorboard import TensorBoard

# values in the widest layer per forward pass at inference time (8 MB of
# float32); larger chunks only add memory traffic
_INFERENCE_ELEMENTS = 2**21
# epochs="auto": the optimizer steps fit may take at least, and the least epochs
AUTO_STEPS = 3000
AUTO_MIN_EPOCHS = 50
# n_iter_no_change="auto": the least patience in epochs, and in optimizer steps
AUTO_PATIENCE_EPOCHS = 10
AUTO_PATIENCE_STEPS = 100
# training rows a new model takes its data statistics from (means, variance)
_INIT_SAMPLES = 10_000


class TorchBackend:
    """Training, device moves and chunked inference of an estimator's module."""

    # ---- training -------------------------------------------------------------

    def _train(self, X, train, val, fresh, one_pass=False):
        """Train on rows ``train`` of ``X``, then set ``offset_``.

        ``fit`` runs up to its cap of epochs, watched for convergence;
        ``one_pass`` (``partial_fit``) runs one epoch. ``val`` holds the
        validation rows, or is None.
        """
        self._check_values(X)
        cap = epoch_cap(self.epochs, len(train), self.batch_size)
        patience = epoch_patience(self.n_iter_no_change, len(train), self.batch_size)
        # made first: a missing tensorboard or checkpoint folder fails now
        parts = self._callbacks(val is not None, cap, patience, watch=not one_pass)
        epochs = 1 if one_pass else cap
        device = resolve_device(self.device) if fresh else self._sync_device()
        seed = int(self._rng.randint(np.iinfo(np.int32).max))
        with seeded_torch(seed, device):
            rows = DeviceRows(X, device)
            train = rows.indices(train)
            val = None if val is None else rows.indices(val)
            batch_norm = self._prepare_module(rows, train, fresh)
            batch_size = min(self.batch_size, len(train))
            trim_fraction = self.trim_fraction
            if trim_fraction == "auto":
                trim_fraction = self._auto_trim_fraction()
            try:
                step = make_step(
                    self.module_,
                    self.compile,
                    self.mixed_precision,
                    trim_fraction,
                    self.trim_weight,
                )
                run = TrainingRun(
                    self,
                    rows,
                    train,
                    val,
                    epochs,
                    batch_size,
                    step=step,
                    validate=self._mean_score,
                    drop_lone=batch_norm,
                )
                with self._device_training(device, X.shape[1], batch_size):
                    run_training(run, parts)
            finally:  # whatever stopped training, the model stays consistent
                self.module_.eval()
                self._set_offset(rows)

    def _prepare_module(self, rows, train, fresh):
        """A new module (``fresh``), or the fitted one with the optimizer
        following the parameters as set now; whether it has batch norm.

        The estimator is changed only once the training rows are known to
        suffice: batch normalisation needs two.
        """
        if fresh:
            sample = train[torch.randperm(len(train), device=train.device)]
            module = self._build_module(self.n_features_in_)
            module.to(rows.device).initialise(rows.take(sample[:_INIT_SAMPLES]))
        else:
            module = self.module_
        batch_norm = any(
            isinstance(layer, nn.modules.batchnorm._BatchNorm)
            for layer in module.modules()
        )
        if train.shape[0] < 1 + batch_norm:
            raise ValueError(
                f"Batch normalisation needs at least 2 training samples, got "
                f"n_samples={train.shape[0]}; pass more samples or batch_norm=False."
            )
        if fresh:
            self._start(module, rows.device)
        else:
            self._optimizer = follow_optimizer_params(
                self._optimizer,
                self.module_,
                self.optimizer,
                self.learning_rate,
                self.weight_decay,
            )
        return batch_norm

    def _callbacks(self, validating, cap, patience, watch):
        """The parts of the training loop, in the order they see each event.

        ``cap`` is the number of epochs the learning-rate schedule spans;
        ``watch`` adds early stopping, with ``patience`` in epochs, and the
        convergence check.
        """
        guard = callbacks.DivergenceGuard(self.learning_rate)
        schedule = self._loss_schedule()
        parts = [
            guard,
            callbacks.Schedules(
                schedule, self.learning_rate, self.learning_rate_schedule, cap
            ),
        ]
        if self.verbose:
            parts.append(callbacks.Progress(self.verbose))
        if self.log_dir is not None:
            parts.append(TensorBoard(self.log_dir))
        if self.checkpoint is not None:
            parts.append(callbacks.Checkpoint(self.checkpoint))
        convergence = None
        if watch:
            convergence = callbacks.Convergence(
                patience,
                self.tol,
                schedule.settled_after,
                stop=self.early_stopping,
                keep_best=self.early_stopping and validating,
            )
            parts.append(convergence)
        parts.append(callbacks.InterruptHandler(guard, convergence))
        return parts

    def _start(self, module, device):
        """Take up a new ``module`` and reset the record."""
        self.module_ = module
        self.device_ = str(device)
        self._optimizer = make_optimizer(
            self.optimizer, module, self.learning_rate, self.weight_decay
        )
        self.n_iter_ = 0
        self.loss_curve_ = []
        self.validation_scores_ = [] if self.validation_fraction > 0 else None

    def _device_training(self, device, n_features, batch_size):
        """On the CPU: the threads a training step needs (at most one per free
        core), denormals flushed.

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
        return cpu_training(min(n, free_cores()))

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

    # ---- inference ------------------------------------------------------------

    def _chunk_size(self, cost=1):
        """Rows per inference pass: about 2M values in the widest layer.

        ``cost`` is the work per row relative to one forward pass.
        """
        return max(1, _INFERENCE_ELEMENTS // self.module_.widest // cost)

    def _mean_score(self, rows, index):
        """Mean score of the rows at ``index`` (validation)."""
        fn, cost = self._scorer(validation=True)
        with torch.inference_mode():
            chunks = index.split(self._chunk_size(cost))
            # a running sum: no result outlives its chunk (see data._gathered)
            return float(sum(fn(rows.take(c)).sum() for c in chunks)) / len(index)

    def _set_offset(self, rows):
        """``offset_``: the ``contamination`` quantile of the scores of all ``rows``."""
        fn, cost = self._scorer()
        with torch.inference_mode(), _inference_threads(rows.device):
            scores = rows.map_chunks(fn, self._chunk_size(cost)).double().numpy()
        self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))

    def _forward(self, fn, X, cost=1):
        """``fn`` applied to the rows of ``X`` in chunks, where ``device`` points.

        ``cost`` is the work per row relative to one forward pass. The
        result is a numpy array of ``X``'s float dtype (float64 for other
        dtypes).
        """
        device = self._sync_device()
        with torch.inference_mode(), _inference_threads(device):
            out = map_chunks(fn, X, self._chunk_size(cost), device)
        return out.numpy().astype(output_dtype(X), copy=False)


def epoch_cap(epochs, n_train, batch_size):
    """The most epochs ``fit`` runs: ``epochs``, or for ``'auto'`` enough for
    ``AUTO_STEPS`` optimizer steps, and at least ``AUTO_MIN_EPOCHS``.

    A fixed number of epochs is a few hundred steps on a small table, too
    few to train on; a budget in steps trains small and large data alike.
    """
    if epochs != "auto":
        return epochs
    return max(AUTO_MIN_EPOCHS, _epochs_for(AUTO_STEPS, n_train, batch_size))


def epoch_patience(n_iter_no_change, n_train, batch_size):
    """Early stopping's patience in epochs: ``n_iter_no_change``, or for
    ``'auto'`` ``AUTO_PATIENCE_EPOCHS``, or as many as ``AUTO_PATIENCE_STEPS``
    optimizer steps take if that is more.

    Ten epochs of a table of 200 rows are 20 steps, in which the noisy
    score of a small validation split often fails to improve although the
    model has barely started to learn.
    """
    if n_iter_no_change != "auto":
        return n_iter_no_change
    return max(
        AUTO_PATIENCE_EPOCHS, _epochs_for(AUTO_PATIENCE_STEPS, n_train, batch_size)
    )


def _epochs_for(steps, n_train, batch_size):
    """The epochs that take at least ``steps`` optimizer steps."""
    steps_per_epoch = math.ceil(n_train / max(1, min(batch_size, n_train)))
    return math.ceil(steps / steps_per_epoch)


def _inference_threads(device):
    """On the CPU, no more threads than there are free cores (see ``cpu.py``)."""
    return cpu_threads(free_cores()) if device.type == "cpu" else nullcontext()
