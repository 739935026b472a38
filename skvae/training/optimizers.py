"""The optimizers, by the names of the ``optimizer`` parameter."""

import inspect

import torch

# name: (class, settings beyond learning rate and weight decay)
OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
}
FUSED = {"adam", "adamw", "sgd"}  # optimizers with a fused kernel in torch


def _fused_kernels_for(module):
    """Whether torch has fused optimizer kernels where ``module`` lives."""
    return next(module.parameters()).device.type in ("cpu", "cuda")


def make_optimizer(name, module, learning_rate, weight_decay):
    """The optimizer ``name`` over ``module``'s parameters, fused where torch can."""
    optimizer, kwargs = OPTIMIZERS[name]
    kwargs = dict(kwargs, lr=learning_rate, weight_decay=weight_decay)
    if name in FUSED and _fused_kernels_for(module):
        kwargs["fused"] = True  # one kernel for all parameters: 25% faster here
    return optimizer(module.parameters(), **kwargs)


def fresh_optimizer(optimizer, module):
    """A new optimizer like ``optimizer``, its settings as they are now, no state.

    For weights that were restored: the moments belong to undone steps.
    """
    accepted = inspect.signature(type(optimizer)).parameters  # AdamW fixes some
    group = optimizer.param_groups[0]
    settings = {k: v for k, v in group.items() if k != "params" and k in accepted}
    if settings.get("fused"):  # the module may have moved since (e.g. to MPS)
        settings["fused"] = _fused_kernels_for(module)
    return type(optimizer)(module.parameters(), **settings)


def follow_optimizer_params(optimizer, module, name, learning_rate, weight_decay):
    """The optimizer to train on with, as the parameters are set now.

    ``set_params`` between calls takes effect: a new weight decay keeps the
    optimizer's state, another ``optimizer`` starts a new one. (Each epoch
    sets its learning rate.)
    """
    if type(optimizer) is not OPTIMIZERS[name][0]:
        return make_optimizer(name, module, learning_rate, weight_decay)
    for group in optimizer.param_groups:
        group["weight_decay"] = weight_decay
    return optimizer
