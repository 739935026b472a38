"""Getting rows of X onto the device, for training and for inference.

Data that fits is converted to float32 and moved to the device once, and
batches are gathered there by index (no DataLoader, no per-batch copies
from the host). Memory-mapped data, and data too large for the GPU, is
streamed instead: each batch is read, converted and moved on its own, so
memory grows with the batch size, not with the data set.
"""

import mmap

import numpy as np
import torch


def as_float32(X):
    """``X`` as a C-contiguous, writable float32 array (no copy when it is one)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    return X if X.flags.writeable else X.copy()


def refuse_dates(X):
    """Dates and durations would pass validation as numbers, and NaT as -9.2e18."""
    dtypes = list(X.dtypes) if hasattr(X, "columns") else [getattr(X, "dtype", None)]
    if any(getattr(dtype, "kind", None) in ("m", "M") for dtype in dtypes):
        raise ValueError(
            "X holds dates or durations; skvae's models take numbers. Convert "
            "them first (e.g. to days since a reference date) and replace or "
            "drop missing ones (NaT)."
        )


def check_float32_range(X):
    """Refuse values too large for float32, in which the networks compute.

    They would be infinite there, and the results NaN.
    """
    limit = np.finfo(np.float32).max
    if X.dtype.kind == "f" and X.dtype.itemsize > 4 and X.size:
        low, high = value_range(X)
        if low < -limit or high > limit:
            raise ValueError(
                f"X has values in [{low:.4g}, {high:.4g}], beyond the range of "
                f"float32 (about ±{limit:.2g}) in which the networks compute. "
                f"Scale X, e.g. with sklearn.preprocessing.StandardScaler."
            )


def value_range(X):
    """The least and greatest value of ``X``, missing ones (NaN) left out."""
    low, high = X.min(), X.max()
    if np.isnan(low):  # NaN propagates; only then pay for the NaN-aware pass
        observed = X[~np.isnan(X)]
        low, high = (observed.min(), observed.max()) if observed.size else (0.0, 0.0)
    return low, high


def has_gaps(X, chunk=2**16):
    """Whether ``X`` has missing values (NaN), read in chunks of rows."""
    if X.dtype.kind != "f":
        return False
    return any(np.isnan(X[s : s + chunk]).any() for s in range(0, X.shape[0], chunk))


def output_dtype(X):
    """Results keep float32/float64 inputs' dtype; anything else gives float64."""
    return X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)


def is_memory_mapped(X):
    """True for an ``np.memmap`` or an array viewing one (as validation returns)."""
    base = X
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = getattr(base, "base", None)
    return False


def _fits_on(device, n_bytes):
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return n_bytes < free // 2  # leave room for activations and gradients


class DeviceRows:
    """The rows of ``X`` on ``device``, fetched by index.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated data of any numeric dtype.
    device : torch.device
        Where batches are needed.
    """

    def __init__(self, X, device):
        self.device = device
        stream = is_memory_mapped(X) or not _fits_on(device, 4 * X.size)
        self._X = X if stream else None
        self._resident = (
            None if stream else torch.as_tensor(as_float32(X), device=device)
        )
        # indices live where the rows are gathered
        self.index_device = torch.device("cpu") if stream else device

    def indices(self, index):
        """A numpy index array as a tensor on ``index_device``."""
        return torch.as_tensor(index, device=self.index_device)

    def take(self, index):
        """The rows at ``index`` (a tensor from ``indices``) as a float32 tensor."""
        if self._resident is not None:
            return self._resident[index]
        return torch.from_numpy(as_float32(self._X[index.numpy()])).to(self.device)

    def map_chunks(self, fn, size):
        """``fn`` applied to consecutive chunks of all rows; results on the CPU.

        Resident rows are read where they are, not uploaded again, and the
        results are copied to the CPU at once: one wait for a GPU, not one
        per chunk.
        """
        if self._resident is None:
            return map_chunks(fn, self._X, size, self.device)
        results = (fn(chunk) for chunk in self._resident.split(size))
        return _gathered(results, len(self._resident), self.device).cpu()


def map_chunks(fn, X, size, device):
    """``fn`` applied to consecutive chunks of ``X``; results on the CPU.

    One chunk exists at a time: each is converted, moved and released
    before the next is read.
    """
    chunks = (
        torch.from_numpy(as_float32(X[start : start + size])).to(device)
        for start in range(0, X.shape[0], size)
    )
    return _gathered(map(fn, chunks), X.shape[0], torch.device("cpu"))


def _gathered(results, n_rows, device):
    """Consecutive chunks' ``results``, written into one tensor of ``n_rows``
    rows on ``device`` as they come.

    Kept in a list until the end, the small results would sit between the
    chunks' large temporaries on the heap, which then grows with the
    number of chunks (to hundreds of MB for 60,000 rows).
    """
    out, start = None, 0
    for result in results:
        if out is None:
            out = result.new_empty((n_rows, *result.shape[1:]), device=device)
        out[start : start + len(result)] = result
        start += len(result)
    return out
