"""Posterior noise for scoring: standard normal, fixed by each row's content.

A VAE's score is a Monte Carlo estimate. Its noise is drawn from a stream
keyed by the bytes of the row, which makes a score deterministic (the same
row always gets the same score), independent of the other rows scored with
it, and independent between rows, so that a mean over many rows converges.
(One noise vector shared by all rows would shift all their scores the same
way: by several nats for the mean ELBO of a 20-d MNIST VAE.)

The stream is SplitMix64 (Steele et al., 2014), in numpy's wrapping integer
arithmetic, turned into normals by the Box-Muller transform.
"""

import numpy as np
import torch

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_LOW32 = np.uint64(0xFFFFFFFF)
_HASH_BLOCK = 2**16  # values hashed at a time


def _mix(z):
    """SplitMix64's finaliser: a bijection of uint64 arrays that scrambles bits."""
    z = z ^ (z >> np.uint64(30))
    z = z * _MIX[0]
    z = z ^ (z >> np.uint64(27))
    z = z * _MIX[1]
    return z ^ (z >> np.uint64(31))


def row_keys(x):
    """A key per row of a float32 tensor, from the bits of its values.

    The row hash is 32-bit (ten times faster than 64-bit here); two rows
    that share a key merely share their noise.
    """
    bits = x.cpu().numpy().view(np.uint32)
    n_rows, n_features = bits.shape
    # an odd multiplier per position, so that permuted rows get other keys
    weights = _mix(np.arange(1, n_features + 1, dtype=np.uint64) * _GOLDEN)
    weights = (weights | np.uint64(1)).astype(np.uint32)
    keys = np.empty(n_rows, dtype=np.uint32)
    step = max(1, _HASH_BLOCK // max(n_features, 1))  # bounds the temporaries
    for start in range(0, n_rows, step):
        block = bits[start : start + step] * weights
        keys[start : start + step] = block.sum(axis=1, dtype=np.uint32)
    return _mix(keys.astype(np.uint64))


def row_noise(keys, start, size, latent_dim, device):
    """Noise of samples ``start .. start + size - 1`` for each key.

    Returns a float32 tensor of shape ``(len(keys), size, latent_dim)``;
    sample ``k`` of a row is the same whatever ``start`` and ``size`` it is
    requested with.
    """
    counters = np.arange(
        start * latent_dim + 1, (start + size) * latent_dim + 1, dtype=np.uint64
    )
    h = _mix(keys[:, None] + counters * _GOLDEN)
    u1 = ((h >> np.uint64(32)).astype(np.float64) + 0.5) * 2.0**-32
    u2 = ((h & _LOW32).astype(np.float64) + 0.5) * 2.0**-32
    eps = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    eps = eps.astype(np.float32).reshape(len(keys), size, latent_dim)
    return torch.from_numpy(eps).to(device)
