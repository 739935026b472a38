"""Torch models: backbones, the VAE and the autoencoder (contract in ``base.py``)."""
