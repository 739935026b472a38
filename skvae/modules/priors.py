"""Priors ``p(z)`` over a VAE's latent codes.

A prior gives ``log p(z) - log q(z|x)`` for posterior draws
``z = mean + std * eps``, the KL term of the ELBO, and codes to decode.
Subclasses register themselves under their ``name``, the value of the
estimators' ``prior`` parameter.
"""

import torch
from torch import nn

from ..likelihoods.base import LOG_2PI

PRIORS = {}


def log_posterior(eps, log_var):
    """``log q(z|x)`` of the draws ``z = mean + exp(log_var / 2) * eps``."""
    return -0.5 * (eps**2 + log_var + LOG_2PI).sum(-1)


class StandardNormal(nn.Module):
    """``N(0, I)``: the prior of Kingma & Welling (2014), with a KL term in
    closed form."""

    name = "normal"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        PRIORS[cls.name] = cls

    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim

    def log_ratio(self, z, eps, log_var):
        """``log p(z) - log q(z|x)`` of draws ``z = mean + std * eps``."""
        return -0.5 * (z**2 - eps**2 - log_var).sum(-1)  # the 2*pi terms cancel

    def kl(self, mean, log_var, z, eps):
        """``KL(q(z|x) || p(z))``, here exact; ``z`` and ``eps`` are unused."""
        return 0.5 * (mean**2 + log_var.exp() - 1.0 - log_var).sum(-1)

    def sample(self, n_samples, rng):
        """``n_samples`` codes drawn with the numpy ``RandomState`` ``rng``."""
        return rng.standard_normal((n_samples, self.latent_dim))


PRIORS[StandardNormal.name] = StandardNormal


class GaussianMixture(StandardNormal):
    """A mixture of ``n_components`` diagonal Gaussians, learned with the
    model (Dilokthanakul et al., 2016; Tomczak & Welling, 2018).

    Data made of groups (classes, regimes, clusters) leaves a standard
    normal prior with mass between the groups' codes, which the decoder
    fills with plausible-looking data: rows that fall between groups then
    score as normal. A learned mixture puts its mass where the codes are.
    The KL term is a one-draw Monte Carlo estimate.
    """

    name = "mixture"
    n_components = 30

    def __init__(self, latent_dim):
        super().__init__(latent_dim)
        # spread like the codes of N(0, I), so the components start apart
        self.means = nn.Parameter(torch.randn(self.n_components, latent_dim))
        self.log_vars = nn.Parameter(torch.zeros(self.n_components, latent_dim))
        self.logits = nn.Parameter(torch.zeros(self.n_components))

    def log_prob(self, z):
        """``log p(z)`` of codes ``z`` of shape ``(..., latent_dim)``."""
        precision = torch.exp(-self.log_vars)
        # the squares (z - mean)^2 / var expanded into products: (rows,
        # components) in memory, not (rows, components, latent_dim); in
        # float32 under bf16 autocast too, as a loss term
        with torch.autocast(z.device.type, enabled=False):
            squares = (
                (z**2) @ precision.T
                - 2 * z @ (self.means * precision).T
                + (self.means**2 * precision).sum(-1)
            )
        log_norm = self.log_vars.sum(-1) + self.latent_dim * LOG_2PI
        log_weights = torch.log_softmax(self.logits, 0)
        return torch.logsumexp(log_weights - 0.5 * (squares + log_norm), -1)

    def log_ratio(self, z, eps, log_var):
        return self.log_prob(z) - log_posterior(eps, log_var)

    def kl(self, mean, log_var, z, eps):
        """One draw's ``log q(z|x) - log p(z)``: no closed form for a mixture."""
        return -self.log_ratio(z, eps, log_var)

    def sample(self, n_samples, rng):
        weights = torch.softmax(self.logits.detach().double(), 0).cpu().numpy()
        component = rng.choice(self.n_components, size=n_samples, p=weights)
        means = self.means.detach().cpu().numpy()[component]
        stds = torch.exp(0.5 * self.log_vars.detach()).cpu().numpy()[component]
        return means + stds * rng.standard_normal((n_samples, self.latent_dim))
