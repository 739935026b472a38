"""Backbones: the encoder and decoder networks the models are built from.

A backbone is a pair ``(encoder, decoder)`` that works on flat data rows:
the encoder maps ``(n, n_features)`` to ``(n, encoder.out_features)`` and the
decoder maps ``(n, code_dim)`` to ``(n, n_outputs)`` raw outputs, a whole
multiple of ``n_features`` (the likelihood's parameters of each feature,
parameter-major). Models
(``vae.py``, ``autoencoder.py``) add their latent heads and loss on top, so every model
works with every backbone.
"""

import math

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "selu": nn.SELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def _block(layer, n_out, activation, dropout, batch_norm, image=False):
    """``layer`` followed by [batch norm], activation and [dropout]."""
    norm, drop = (
        (nn.BatchNorm2d, nn.Dropout2d) if image else (nn.BatchNorm1d, nn.Dropout)
    )
    layers = [layer]
    if batch_norm:
        layers.append(norm(n_out))
    layers.append(ACTIVATIONS[activation]())
    if dropout > 0:
        layers.append(drop(dropout))
    return layers


def _dense_stack(sizes, activation, dropout, batch_norm):
    """Hidden blocks ``sizes[0] -> sizes[1] -> ...``, each with its activation."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += _block(nn.Linear(n_in, n_out), n_out, activation, dropout, batch_norm)
    return nn.Sequential(*layers)


class _Encoder(nn.Sequential):
    """A ``Sequential`` that knows the width of its output.

    ``widest`` is the largest number of values per row in any layer of the
    backbone, encoder or decoder: what inference chunks are sized by.
    """

    def __init__(self, *layers, out_features, widest):
        super().__init__(*layers)
        self.out_features = out_features
        self.widest = widest


def mlp_backbone(
    n_features, n_outputs, code_dim, hidden_layer_sizes, activation, dropout, batch_norm
):
    """Dense encoder ``n_features -> hidden...`` and its mirror image decoder."""
    hidden = list(hidden_layer_sizes)
    encoder = _Encoder(
        *_dense_stack([n_features] + hidden, activation, dropout, batch_norm),
        out_features=hidden[-1] if hidden else n_features,
        widest=max([n_features, n_outputs] + hidden),
    )
    up = [code_dim] + hidden[::-1]
    decoder = nn.Sequential(
        *_dense_stack(up, activation, dropout, batch_norm),
        nn.Linear(up[-1], n_outputs),
    )
    return encoder, decoder


def downsampled_sizes(size, n_blocks):
    """Spatial sizes after each stride-2 block with odd kernel and 'same' padding."""
    sizes = [size]
    for _ in range(n_blocks):
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


class _ToImage(nn.Module):
    """Flat channels-last rows ``(n, h*w*c)`` -> torch images ``(n, c, h, w)``."""

    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        h, w, c = self.shape
        return x.reshape(-1, h, w, c).permute(0, 3, 1, 2)


class _ToRows(nn.Module):
    """Torch images ``(n, k*c, h, w)`` -> flat rows ``(n, k*h*w*c)``.

    Each of the ``k`` groups of ``c`` channels (one output per pixel value)
    becomes an image of channels-last rows, one group after the other.
    """

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        x = x.unflatten(1, (self.groups, -1))
        return x.permute(0, 1, 3, 4, 2).flatten(1)


def _upsampling_blocks(
    channels, heights, widths, kernel_size, activation, dropout, batch_norm
):
    """Transposed-conv blocks that restore the encoder's sizes level by level."""
    layers = []
    ups = list(channels[::-1]) + [channels[0]]
    for i, (n_in, n_out) in enumerate(zip(ups[:-1], ups[1:])):
        level = len(channels) - 1 - i  # decoder block i restores level `level`
        out_pad = (1 - heights[level] % 2, 1 - widths[level] % 2)
        conv = nn.ConvTranspose2d(
            n_in,
            n_out,
            kernel_size,
            stride=2,
            padding=kernel_size // 2,
            output_padding=out_pad,
        )
        layers += _block(conv, n_out, activation, dropout, batch_norm, image=True)
    return layers


def conv_backbone(
    image_shape,
    in_channels,
    n_outputs,
    code_dim,
    channels,
    kernel_size,
    hidden_layer_sizes,
    activation,
    dropout,
    batch_norm,
):
    """Strided conv encoder and transposed-conv decoder for ``(h, w, c)`` images.

    Each encoder block halves height and width (rounding up); each decoder
    block doubles them back, with an ``output_padding`` chosen per block so
    that any image size, odd or even, is restored exactly. The last
    convolution emits ``n_outputs / (h*w*c)`` values per pixel value. The
    encoder reads ``in_channels`` per pixel (``c``, or more where each value
    comes with a missing-value flag).
    """
    h, w, c = image_shape
    groups = n_outputs // (h * w * c)
    pad = kernel_size // 2
    heights = downsampled_sizes(h, len(channels))
    widths = downsampled_sizes(w, len(channels))
    flat = channels[-1] * heights[-1] * widths[-1]
    hidden = list(hidden_layer_sizes)

    enc = [_ToImage((h, w, in_channels))]
    for n_in, n_out in zip([in_channels] + list(channels[:-1]), channels):
        conv = nn.Conv2d(n_in, n_out, kernel_size, stride=2, padding=pad)
        enc += _block(conv, n_out, activation, dropout, batch_norm, image=True)
    enc.append(nn.Flatten())
    enc += _dense_stack([flat] + hidden, activation, dropout, batch_norm)
    feature_maps = [
        n * height * width
        for n, height, width in zip(channels, heights[1:], widths[1:])
    ]
    # the decoder's last block works at full resolution with channels[0] maps
    widest = max(feature_maps + hidden + [h * w * max(groups * c, channels[0])])
    encoder = _Encoder(*enc, out_features=hidden[-1] if hidden else flat, widest=widest)

    dec = list(
        _dense_stack(
            [code_dim] + hidden[::-1] + [flat], activation, dropout, batch_norm
        )
    )
    dec.append(nn.Unflatten(1, (channels[-1], heights[-1], widths[-1])))
    dec += _upsampling_blocks(
        channels, heights, widths, kernel_size, activation, dropout, batch_norm
    )
    dec += [
        nn.Conv2d(channels[0], groups * c, kernel_size, padding=pad),
        _ToRows(groups),
    ]
    # channels-last conv weights: the rows arrive channels-last, and oneDNN
    # and cuDNN then run every conv without converting layouts in between
    channels_last = dict(memory_format=torch.channels_last)
    return encoder.to(**channels_last), nn.Sequential(*dec).to(**channels_last)
