"""Optional TensorBoard logging of the training curves (the ``log_dir`` parameter).

``training_log(log_dir)`` opens a log for one ``fit`` or ``partial_fit`` call
and closes it however training ends. Training asks it for a dict per epoch,
which ``module.loss(..., terms=dict)`` fills with the per-row sums of the
loss terms as device tensors; the log reads them once, at the end of the
epoch, so that logging adds no host synchronisation per batch. Without
``log_dir`` the dict is None and the models skip that bookkeeping.
"""

import os
from contextlib import contextmanager

import torch


def _summary_writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ImportError(
            "log_dir needs the tensorboard package: pip install tensorboard "
            '(or pip install "skvae[tensorboard]"), or set log_dir=None.'
        ) from exc
    return SummaryWriter


class _NoLog:
    """The log of a fit without ``log_dir``: does nothing."""

    def epoch_terms(self):
        return None

    def write(self, estimator, settings, n_rows, validating):
        pass

    def close(self):
        pass


class _TensorBoardLog:
    """Scalars per epoch in TensorBoard event files, at step ``n_iter_``.

    ``train/loss`` (``loss_curve_``), the means per sample of the model's
    loss terms (``train/reconstruction_nll`` and ``train/kl`` for the VAEs),
    the epoch's settings (``train/learning_rate``, and ``train/kl_weight``
    and ``train/n_samples`` for the VAEs) and ``validation/score``.
    """

    def __init__(self, log_dir):
        self._writer = _summary_writer_class()(log_dir=os.fspath(log_dir))
        self._terms = {}

    def epoch_terms(self):
        """A new dict for ``module.loss`` to add this epoch's term sums to."""
        self._terms = {}
        return self._terms

    def write(self, estimator, settings, n_rows, validating):
        """Log the epoch that ``estimator`` has just recorded.

        ``settings`` are the epoch's learning rate and loss settings (a
        dict of numbers), ``n_rows`` the number of rows it trained on,
        ``validating`` whether it was validated.
        """
        scalars = {"train/loss": estimator.loss_curve_[-1]}
        if self._terms:
            # after the epoch's loss was read: the device has finished, no stall
            sums = torch.stack(list(self._terms.values()))
            means = (sums / n_rows).tolist()
            scalars.update(zip((f"train/{k}" for k in self._terms), means))
        scalars.update({f"train/{k}": float(v) for k, v in settings.items()})
        if validating:
            scalars["validation/score"] = estimator.validation_scores_[-1]
        for tag, value in scalars.items():
            self._writer.add_scalar(tag, value, estimator.n_iter_)

    def close(self):
        self._writer.close()


@contextmanager
def training_log(log_dir):
    """The log of one training call: TensorBoard files in ``log_dir``, or none.

    Raises the ImportError that names the missing package before training.
    """
    log = _NoLog() if log_dir is None else _TensorBoardLog(log_dir)
    try:
        yield log
    finally:
        log.close()
