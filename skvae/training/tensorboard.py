"""Optional TensorBoard logging of the training curves (the ``log_dir`` parameter).

``TensorBoard(log_dir)`` is the loop's callback for one ``fit`` or
``partial_fit`` call. It imports tensorboard when it is made, so that a
missing package fails before training, and closes its writer however
training ends. Each epoch it hands ``module.loss(..., terms=dict)`` a fresh
dict, which the model fills with the per-row sums of its loss terms as
device tensors; the callback reads them once, at the end of the epoch, so
that logging adds no host synchronisation per batch. Without ``log_dir``
there is no such callback, ``terms`` is None and the models skip that
bookkeeping. The writer lives only in the callback, never on the estimator,
so nothing of it is pickled or saved.
"""

import os

import torch

from .loop import Callback


def _summary_writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ImportError(
            "log_dir needs the tensorboard package: pip install tensorboard "
            '(or, in a clone of skvae, pip install -e ".[tensorboard]"), or set '
            "log_dir=None."
        ) from exc
    return SummaryWriter


class TensorBoard(Callback):
    """Scalars per epoch in TensorBoard event files, at step ``n_iter_``.

    ``train/loss`` (``loss_curve_``), the means per sample of the model's
    loss terms (``train/reconstruction_nll`` and ``train/kl`` for the VAEs),
    the epoch's settings (``train/learning_rate``, and ``train/kl_weight``
    and ``train/n_samples`` for the VAEs) and ``validation/score``.
    """

    def __init__(self, log_dir):
        self._writer_class = _summary_writer_class()
        self.log_dir = os.fspath(log_dir)
        self._writer = None

    def on_train_begin(self, run):
        self._writer = self._writer_class(log_dir=self.log_dir)

    def on_epoch_begin(self, run):
        run.terms = {}  # for module.loss to add this epoch's term sums to

    def on_epoch_end(self, run):
        scalars = {"train/loss": run.epoch_loss}
        if run.terms:
            # after the epoch's loss was read: the device has finished, no stall
            sums = torch.stack(list(run.terms.values()))
            means = (sums / run.n_used).tolist()
            scalars.update(zip((f"train/{k}" for k in run.terms), means))
        settings = {**run.loss_kwargs, "learning_rate": run.learning_rate}
        scalars.update({f"train/{k}": float(v) for k, v in settings.items()})
        if run.val is not None:
            scalars["validation/score"] = run.metric
        for tag, value in scalars.items():
            self._writer.add_scalar(tag, value, run.epoch)

    def on_train_end(self, run):
        if self._writer is not None:  # None if training failed before it began
            self._writer.close()
