"""The training loop's parts, each reacting to the loop's events (``loop.py``)."""

import math
import os
import sys
import warnings

from sklearn.exceptions import ConvergenceWarning
from tqdm.auto import tqdm

from .devices import clone_state
from .loop import Callback
from .optimizers import fresh_optimizer
from .schedules import learning_rate


class Schedules(Callback):
    """Each epoch's loss settings (``LossSchedule``) and learning rate."""

    def __init__(self, loss_schedule, base_rate, rate_schedule, epochs):
        self.loss_schedule = loss_schedule
        self.rate = (base_rate, rate_schedule, epochs)

    def on_epoch_begin(self, run):
        run.loss_kwargs = self.loss_schedule.settings(run.epoch)
        base, schedule, epochs = self.rate
        run.learning_rate = learning_rate(schedule, base, run.epoch, epochs)
        for group in run.optimizer.param_groups:
            group["lr"] = run.learning_rate


def restore(run, state):
    """Go back to the weights ``state``, with a fresh optimizer.

    The optimizer's moments belong to the steps that are undone.
    """
    run.module.load_state_dict(state)
    run.optimizer = fresh_optimizer(run.optimizer, run.module)


class DivergenceGuard(Callback):
    """A NaN or infinite epoch restores the weights from before it and raises.

    ``snapshot`` holds those weights while an epoch runs (None between
    epochs); the interrupt handler restores them too.
    """

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate
        self.snapshot = None

    def on_epoch_begin(self, run):
        self.snapshot = clone_state(run.module)

    def on_epoch_trained(self, run):
        if math.isfinite(run.epoch_loss):
            return
        restore(run, self.snapshot)
        self.snapshot = None
        raise FloatingPointError(
            f"The training loss became NaN or infinite in epoch {run.epoch + 1}. "
            f"The weights from before that epoch were restored. Likely causes: "
            f"learning_rate={self.learning_rate} is too large, or the inputs are "
            f"not scaled (try StandardScaler or MinMaxScaler)."
        )

    def on_epoch_end(self, run):
        self.snapshot = None  # the epoch is recorded: its weights stand


class Convergence(Callback):
    """Watch the metric for improvements of more than ``tol``.

    The leading epochs of the loss schedule that are not yet ``settled``
    are ignored. With ``stop``, training ends once the metric has not
    improved for ``patience`` epochs (early stopping); with ``keep_best``
    (a validation split), on the weights of the best epoch. If the epoch
    cap ends training while the metric still improved within the last
    ``patience`` epochs, a ``ConvergenceWarning`` says so.
    """

    def __init__(self, patience, tol, settled_after, *, stop, keep_best):
        self.patience, self.tol = patience, tol
        self.settled_after, self.stop, self.keep_best = settled_after, stop, keep_best
        self.best, self.best_state, self.stale = -math.inf, None, 0

    def on_epoch_end(self, run):
        if run.epoch <= self.settled_after:
            return
        if run.metric > self.best + self.tol:
            self.best, self.stale = run.metric, 0
            if self.keep_best:
                self.best_state = clone_state(run.module)
        else:
            self.stale += 1
        if self.stop:
            run.stop = run.stop or self.stale >= self.patience

    def on_train_end(self, run):
        if run.failed:
            return
        if self.best_state is not None:
            run.module.load_state_dict(self.best_state)
        if run.n_done == run.epochs and self.stale < self.patience:
            self._warn_cap(run)

    def _warn_cap(self, run):
        watched = "validation score" if run.val is not None else "training loss"
        window = min(self.patience, run.n_done)  # a short fit ran fewer epochs
        setting = run.estimator.epochs  # as the user set it
        cap = f"epochs={setting!r}" + (
            f" ({run.epochs} epochs here)" if setting == "auto" else ""
        )
        warn_caller(
            f"{type(run.estimator).__name__} stopped at its cap of {cap} while "
            f"its {watched} was still improving (by more than tol={self.tol} "
            f"within the last {window} epochs). It may score and "
            f"reconstruct better with more epochs: raise epochs, or call fit "
            f"with warm_start=True to train on.",
            ConvergenceWarning,
        )


class InterruptHandler(Callback):
    """Ctrl-C stops training cleanly, with a warning that says what is kept.

    The epoch it interrupts is undone (``guard.snapshot``); training then
    ends as usual, on the best epoch's weights with early stopping.
    """

    def __init__(self, guard, convergence=None):
        self.guard, self.convergence = guard, convergence

    def on_exception(self, run, exc):
        if not isinstance(exc, KeyboardInterrupt):
            return False
        if self.guard.snapshot is not None:
            restore(run, self.guard.snapshot)
        if getattr(self.convergence, "best_state", None) is not None:
            kept = "the weights of the epoch with the best validation score"
        elif run.n_done:
            kept = "the weights of the last finished epoch"
        elif run.epoch:
            kept = "the weights it had before this call"
        else:
            kept = "its initial weights, as no epoch finished"
        warn_caller(
            f"Training was interrupted after {run.n_done} of {run.epochs} epochs; "
            f"the model keeps {kept}. Call fit with warm_start=True, or "
            f"partial_fit, to train on."
        )
        return True


class Progress(Callback):
    """A progress bar (``verbose=1``), and a line per epoch (``verbose=2``)."""

    def __init__(self, verbose):
        self.verbose = verbose
        self.bar = None

    def on_train_begin(self, run):
        self.bar = tqdm(total=run.epochs, unit="epoch", leave=False)

    def on_epoch_end(self, run):
        line = {"loss": run.epoch_loss}
        if run.val is not None:
            line["validation score"] = run.metric
        self.bar.update()
        self.bar.set_postfix({k.split()[0]: f"{v:.4g}" for k, v in line.items()})
        if self.verbose >= 2:
            text = ", ".join(f"{k} {v:.4f}" for k, v in line.items())
            self.bar.write(f"epoch {run.epoch}: {text}", file=sys.stderr)

    def on_train_end(self, run):
        if self.bar is not None:  # None if training failed before it began
            self.bar.close()


class Checkpoint(Callback):
    """Save the estimator after every recorded epoch, with its ``offset_``."""

    def __init__(self, path):
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):  # fail now, not after the first epoch
            raise ValueError(
                f"checkpoint={path!r} cannot be written: the folder "
                f"{folder!r} does not exist. Create it or choose another path."
            )
        self.path = path

    def on_epoch_end(self, run):
        run.estimator._set_offset(run.rows)
        run.estimator.save(self.path)


def warn_caller(message, category=UserWarning):
    """A warning that points at the user's code.

    That is the first frame outside skvae and scikit-learn (whose
    ``_fit_context`` wraps ``fit``).
    """
    libraries = tuple(
        os.path.dirname(os.path.abspath(module.__file__)) + os.sep
        for module in (sys.modules["skvae"], sys.modules["sklearn"])
    )
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and os.path.abspath(
        frame.f_code.co_filename
    ).startswith(libraries):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
