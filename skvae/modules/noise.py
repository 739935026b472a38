"""Posterior noise for scoring: standard normal, fixed by each row's content.

A VAE's score is a Monte Carlo estimate. Its noise is drawn from a stream
keyed by the bytes of the row, which makes a score deterministic (the same
row always gets the same score), independent of the other rows scored with
it, and independent between rows, so that a mean over many rows converges.
(One noise vector shared by all rows would shift all their scores the same
way: by several nats for the mean ELBO of a 20-d MNIST VAE.)

The stream is SplitMix64 (Steele et al., 2014), computed where the rows are
(no copy to the host and back on a GPU) in torch's int64 arithmetic, which
wraps around like uint64 arithmetic and holds the same bits, and turned into
normals by the Box-Muller transform.
"""

import math

import torch


def _int64(value):
    """The int64 with the bits of the uint64 ``value``."""
    return value - (1 << 64) if value >= 1 << 63 else value


_GOLDEN = _int64(0x9E3779B97F4A7C15)
_MIX = (_int64(0xBF58476D1CE4E5B9), _int64(0x94D049BB133111EB))
_LOW32 = 0xFFFFFFFF
_HASH_BLOCK = 2**18  # values hashed at a time


def _shift(z, bits):
    """Logical right shift of the uint64 bits that an int64 tensor holds."""
    return (z >> bits) & ((1 << (64 - bits)) - 1)


def _mix(z):
    """SplitMix64's finaliser: a bijection of 64-bit values that scrambles bits."""
    z = z ^ _shift(z, 30)
    z = z * _MIX[0]
    z = z ^ _shift(z, 27)
    z = z * _MIX[1]
    return z ^ _shift(z, 31)


def row_keys(x):
    """A key per row of a float32 tensor, from the bits of its values.

    The row hash is a sum of 32-bit products, hashed to 64 bits; two rows
    that share a key merely share their noise.
    Returns an int64 tensor of 64-bit keys, on the CPU for an MPS tensor
    (MPS has no float64 for ``row_noise``) and on ``x``'s device otherwise.
    """
    if x.device.type == "mps":
        x = x.cpu()
    bits = x.contiguous().view(torch.int32)
    n_rows, n_features = bits.shape
    # an odd multiplier per position, so that permuted rows get other keys;
    # int32 products wrap around like uint32 ones, with the same low bits
    positions = torch.arange(1, n_features + 1, device=x.device)
    weights = _mix(positions * _GOLDEN) | 1
    # their low 32 bits as int32 values (a cast of larger ones is undefined)
    weights = (((weights + (1 << 31)) & _LOW32) - (1 << 31)).to(torch.int32)
    sums = torch.empty(n_rows, dtype=torch.int32, device=x.device)
    step = max(1, _HASH_BLOCK // max(n_features, 1))  # products stay in cache
    for start in range(0, n_rows, step):
        block = bits[start : start + step] * weights
        sums[start : start + step] = block.sum(dim=1, dtype=torch.int32)
    return _mix(sums.long() & _LOW32)


def row_noise(keys, start, size, latent_dim, device):
    """Noise of samples ``start .. start + size - 1`` for each key, on ``device``.

    Returns a float32 tensor of shape ``(len(keys), size, latent_dim)``;
    sample ``k`` of a row is the same whatever ``start`` and ``size`` it is
    requested with.
    """
    counters = torch.arange(
        start * latent_dim + 1, (start + size) * latent_dim + 1, device=keys.device
    )
    h = _mix(keys[:, None] + counters * _GOLDEN)
    u1 = (_shift(h, 32).double() + 0.5) * 2.0**-32
    u2 = ((h & _LOW32).double() + 0.5) * 2.0**-32
    eps = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
    return eps.float().reshape(len(keys), size, latent_dim).to(device)
