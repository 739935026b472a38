"""skvae: variational autoencoders as scikit-learn estimators, on PyTorch."""

from ._conv_vae import ConvVAE
from ._denoising import DenoisingAE
from ._imputer import VAEImputer
from ._persistence import load
from ._vae import VAE
from ._version import __version__

__all__ = ["VAE", "ConvVAE", "DenoisingAE", "VAEImputer", "load", "__version__"]
