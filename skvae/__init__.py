"""skvae: variational autoencoders as scikit-learn estimators, on PyTorch."""

from ._conv_vae import ConvVAE
from ._denoising import DenoisingAE
from ._vae import VAE

__version__ = "0.1.0"

__all__ = ["VAE", "ConvVAE", "DenoisingAE", "__version__"]
