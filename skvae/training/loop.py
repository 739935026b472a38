"""The training loop: epochs -> batches -> step, with events for callbacks.

The loop only trains and records. Everything else (schedules, the
divergence guard, Ctrl-C, progress, TensorBoard, checkpoints, early
stopping) is a callback (``callbacks.py``) that reacts to its events:

- ``on_train_begin(run)`` and ``on_train_end(run)``, the latter however
  training ends (``run.failed`` tells whether an error is on its way out);
- ``on_epoch_begin(run)``; ``on_batch_begin(run)`` before each step;
- ``on_epoch_trained(run)`` when the epoch's batches are done and
  ``run.epoch_loss`` is known, before it is recorded;
- ``on_epoch_end(run)`` once the epoch is recorded: it counts from then on;
- ``on_exception(run, exc)``, which returns True if it handled ``exc``.

Callbacks may set ``run.stop`` to end training after the current epoch.
"""

import math
from contextlib import nullcontext

import torch


class Callback:
    """Base class of the loop's callbacks: every event does nothing."""

    def on_train_begin(self, run):
        pass

    def on_epoch_begin(self, run):
        pass

    def on_batch_begin(self, run):
        pass

    def on_epoch_trained(self, run):
        pass

    def on_epoch_end(self, run):
        pass

    def on_exception(self, run, exc):
        return False

    def on_train_end(self, run):
        pass


class TrainingRun:
    """One ``fit`` or ``partial_fit`` call's training: what the callbacks see.

    Parameters
    ----------
    estimator : BaseAutoencoder
        Records each epoch in its ``n_iter_``, ``loss_curve_`` and
        ``validation_scores_``.
    rows : DeviceRows
        The data.
    train, val : tensor
        Indices of the training and the validation rows (``val`` None
        without validation) in ``rows``.
    epochs : int
        The most epochs to run.
    batch_size : int
        Rows per step.
    step : callable
        ``step(run, batch)`` takes one optimizer step and returns the
        batch's loss.
    validate : callable
        ``validate(rows, val)``: the validation score of the model.
    drop_lone : bool
        Leave out a lone leftover row of an epoch (batch norm needs two).
    """

    def __init__(
        self,
        estimator,
        rows,
        train,
        val,
        epochs,
        batch_size,
        *,
        step,
        validate,
        drop_lone,
    ):
        self.estimator = estimator
        self.module = estimator.module_
        self.rows, self.train, self.val = rows, train, val
        self.epochs, self.batch_size = epochs, batch_size
        self._step, self._validate = step, validate
        n_samples = train.shape[0]
        self.n_used = n_samples - (n_samples % batch_size == 1 and drop_lone)
        self.loss_kwargs, self.learning_rate, self.terms = {}, None, None
        self.epoch_loss, self.n_done, self.stop, self.failed = None, 0, False, False

    @property
    def optimizer(self):
        """The estimator's optimizer; a callback may replace it."""
        return self.estimator._optimizer

    @optimizer.setter
    def optimizer(self, optimizer):
        self.estimator._optimizer = optimizer

    @property
    def epoch(self):
        """The estimator's number of recorded epochs (``n_iter_``)."""
        return self.estimator.n_iter_

    def record(self):
        """Validate the epoch and record it: from now on it counts."""
        est = self.estimator
        if self.val is not None:
            est.validation_scores_.append(self._validate(self.rows, self.val))
        est.n_iter_ += 1
        est.loss_curve_.append(self.epoch_loss)
        self.n_done += 1

    @property
    def metric(self):
        """What the last epoch achieved: its validation score, or minus its loss."""
        if self.val is not None:
            return self.estimator.validation_scores_[-1]
        return -self.epoch_loss


def run_training(run, callbacks):
    """Train ``run`` for its epochs, or until a callback stops it."""
    batch_hooks = [cb for cb in callbacks if _overrides(cb, "on_batch_begin")]
    try:
        _emit(callbacks, "on_train_begin", run)
        for _ in range(run.epochs):
            _emit(callbacks, "on_epoch_begin", run)
            run.epoch_loss = _train_epoch(run, batch_hooks)
            _emit(callbacks, "on_epoch_trained", run)
            run.record()
            _emit(callbacks, "on_epoch_end", run)
            if run.stop:
                break
    except BaseException as exc:
        # each callback sees it (so each restores what it owns); one may handle it
        handled = [cb.on_exception(run, exc) for cb in callbacks]
        if not any(handled):
            run.failed = True
            raise
    finally:
        _emit(callbacks, "on_train_end", run)


def _train_epoch(run, batch_hooks):
    """One pass over the training rows in a new order; the mean loss per row."""
    run.module.train()
    total = torch.zeros((), device=run.rows.device)
    order = run.train[torch.randperm(run.train.shape[0], device=run.train.device)]
    for start in range(0, run.n_used, run.batch_size):
        for callback in batch_hooks:
            callback.on_batch_begin(run)
        batch = run.rows.take(order[start : min(start + run.batch_size, run.n_used)])
        total += run._step(run, batch).detach() * batch.shape[0]
    epoch_loss = (total / run.n_used).item()  # the epoch's only host sync
    run.module.eval()
    return epoch_loss


def make_step(
    module, compile=False, mixed_precision=None, trim_fraction=0.0, trim_weight=0.0
):
    """The optimizer step on a batch: ``step(run, batch)`` returns its loss.

    ``compile`` passes the model's loss through ``torch.compile`` (a local
    of this call, so nothing compiled is pickled; torch keeps the compiled
    code for the process, and later fits reuse it). ``mixed_precision='bf16'``
    runs it under bfloat16 autocast; models keep their loss terms float32.
    The batch's loss is the weighted mean over its rows in which the
    ``trim_fraction`` worst of them weigh ``trim_weight`` and the others 1.
    """
    loss_fn = torch.compile(module.loss) if compile else module.loss

    def step(run, batch):
        if mixed_precision is None:
            autocast = nullcontext()
        else:
            autocast = torch.autocast(batch.device.type, dtype=torch.bfloat16)
        with autocast:
            row_losses = loss_fn(batch, terms=run.terms, **run.loss_kwargs)
        n_kept = math.ceil((1 - trim_fraction) * row_losses.shape[0])
        if n_kept == row_losses.shape[0] or trim_weight == 1:
            loss = row_losses.mean()
        else:
            ordered = row_losses.sort().values  # kept apart: a worst row may be inf
            kept, worst = ordered[:n_kept], ordered[n_kept:]
            if trim_weight == 0:
                loss = kept.mean()
            else:
                total = kept.sum() + trim_weight * worst.sum()
                loss = total / (n_kept + trim_weight * worst.shape[0])
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        return loss

    return step


def _emit(callbacks, event, run):
    for callback in callbacks:
        getattr(callback, event)(run)


def _overrides(callback, event):
    return getattr(type(callback), event) is not getattr(Callback, event)
