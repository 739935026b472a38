"""What the networks see of a row, and the row's units.

Rows arrive as one float per column: a value, or a category's code, NaN
where missing. ``Columns`` standardises the numeric columns (for the
likelihoods that want it, on dense models: tables come in any units) and
builds the encoder's input from a standardised row: numeric values with
gaps at 0 (the column's mean where standardised), categories one-hot, and,
for models trained on data with gaps, a flag per column that says which
entries are missing (Mattei & Frellsen, 2019; Nazábal et al., 2020).
"""

import torch
from torch import nn

from ..likelihoods.base import column_moments, missing_entries


class Columns(nn.Module):
    """The columns of a row: their kinds, their scaling and the encoder's view.

    Parameters
    ----------
    is_categorical : array-like of bool
        Which columns hold category codes.
    cardinalities : list of int
        The number of categories of each categorical column.
    standardise : bool
        Whether numeric columns are standardised (statistics from
        ``initialise``).
    gaps : bool
        Whether the encoder sees a missing-entry flag per column.
    """

    def __init__(self, is_categorical, cardinalities, standardise, gaps):
        super().__init__()
        is_categorical = torch.as_tensor(is_categorical, dtype=torch.bool)
        columns = torch.arange(len(is_categorical))
        self.register_buffer("numbers", columns[~is_categorical], persistent=False)
        self.register_buffer("codes", columns[is_categorical], persistent=False)
        self.mixed = bool(is_categorical.any())
        self.n_features = len(is_categorical)
        self.cardinalities = list(cardinalities)
        starts = torch.tensor([0] + self.cardinalities[:-1]).cumsum(0)
        self.register_buffer("starts", starts, persistent=False)
        self.standardised = standardise
        self.gaps = gaps
        if standardise:  # saved with the model; absent from older model files
            self.register_buffer("loc", torch.zeros(len(self.numbers)))
            self.register_buffer("scale", torch.ones(len(self.numbers)))

    @property
    def n_inputs(self):
        """Encoder inputs per row."""
        values = len(self.numbers) + sum(self.cardinalities)
        return values + self.n_features * self.gaps

    @torch.no_grad()
    def initialise(self, x):
        """Means and standard deviations of the numeric columns of a sample ``x``
        (a constant or empty column keeps scale 1, as in ``StandardScaler``)."""
        if not self.standardised:
            return
        numbers = x[:, self.numbers] if self.mixed else x
        loc, variance = column_moments(numbers)
        std = variance.sqrt()
        self.loc.copy_(loc.nan_to_num(0.0))
        self.scale.copy_(torch.where(std > 1e-12, std, 1.0).nan_to_num(1.0))

    def standardise(self, x):
        """``x`` with its numeric columns standardised (NaN stays NaN)."""
        if not self.standardised:
            return x
        if not self.mixed:  # one pass: x / scale - loc / scale
            return torch.addcmul(-self.loc / self.scale, x, 1.0 / self.scale)
        x = x.clone()
        x[..., self.numbers] = (x[..., self.numbers] - self.loc) / self.scale
        return x

    def unstandardise(self, values):
        """Values of standardised columns back in the data's units."""
        if not self.standardised:
            return values
        if not self.mixed:
            return values * self.scale + self.loc
        values = values.clone()
        values[..., self.numbers] = values[..., self.numbers] * self.scale + self.loc
        return values

    def log_jacobian(self, x):
        """``log |d standardise / dx|`` over each row's observed numeric entries:
        what turns a log-density of standardised values into one of ``x``."""
        if not self.standardised:
            return x.new_zeros(())
        numbers = x[..., self.numbers] if self.mixed else x
        missing = missing_entries(numbers)
        log_scale = self.scale.log()
        if missing is None:
            return -log_scale.sum()
        return missing.to(log_scale.dtype) @ log_scale - log_scale.sum()

    def inputs(self, x):
        """The encoder's input for standardised rows ``x``."""
        missing = missing_entries(x)
        if self.mixed:
            values = torch.cat(
                [
                    x[..., self.numbers].nan_to_num(0.0),
                    self._one_hot(x[..., self.codes]),
                ],
                -1,
            )
        else:
            values = x if missing is None else x.nan_to_num(0.0)
        if not self.gaps:
            return values
        flags = x.new_zeros(x.shape) if missing is None else missing.to(x.dtype)
        if self.mixed:
            return torch.cat([values, flags], -1)
        # each value beside its flag: an image's channels come in pairs
        return torch.stack([values, flags], -1).flatten(-2)

    def _one_hot(self, codes):
        """Categories one-hot, column after column; all zeros where missing
        or of a category not seen in fit (code -1)."""
        known = codes >= 0
        slots = codes.masked_fill(~known, 0.0).long() + self.starts
        hot = codes.new_zeros((*codes.shape[:-1], sum(self.cardinalities)))
        return hot.scatter_(-1, slots, known.to(codes.dtype))
