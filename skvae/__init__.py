"""skvae: variational autoencoders as scikit-learn estimators, on PyTorch."""

# set first: model files record the version that wrote them
__version__ = "0.1.0"

from ._conv_vae import ConvVAE
from ._denoising import DenoisingAE
from ._persistence import load
from ._vae import VAE

__all__ = ["VAE", "ConvVAE", "DenoisingAE", "load", "__version__"]
