"""Schedules: the loss settings and the learning rate of each epoch.

Epochs are counted by the estimator's ``n_iter_`` (0 for the first), so
that a schedule goes on across ``partial_fit`` calls and warm starts.
"""

import math

# the share of learning_rate that the cosine schedule ends at
COSINE_FLOOR = 0.02


class LossSchedule:
    """The keyword arguments of a model's ``loss`` in each epoch.

    Parameters
    ----------
    **settings : dict of str to float or callable
        A constant, or a function of the epoch, per keyword argument.
    settled_after : int, default=0
        The number of leading epochs whose objective differs from the final
        one: their scores are not comparable with later ones, so early
        stopping ignores them and the learning-curve plot shades them.
    """

    def __init__(self, settled_after=0, **settings):
        self.settled_after = settled_after
        self._settings = settings

    def settings(self, epoch):
        """The loss's keyword arguments in ``epoch``."""
        return {
            name: value(epoch) if callable(value) else value
            for name, value in self._settings.items()
        }


def kl_warmup(beta, warmup_epochs, delay):
    """KL annealing: the KL weight of each epoch, and when it reaches ``beta``.

    The weight is 0 for ``delay`` epochs, then rises linearly to ``beta``
    over ``warmup_epochs``, reaching it in the last of them.
    """

    def weight(epoch):
        ramp = (epoch - delay + 1) / max(warmup_epochs, 1)
        return beta * min(max(ramp, 0.0), 1.0)

    return weight, delay + max(warmup_epochs - 1, 0)


def learning_rate(schedule, base, epoch, epochs):
    """The learning rate of ``epoch``: constant, or cosine decay over ``epochs``."""
    if schedule == "constant":
        return base
    progress = min(epoch / epochs, 1.0)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return base * (COSINE_FLOOR + (1 - COSINE_FLOOR) * cosine)
