"""The model contract, and the helpers every model shares.

A model is a torch module built from a backbone (``networks.py``) by an
estimator's ``_build_module``. The estimator core relies on these methods
only:

- ``initialise(x)``: set what the model derives from a data sample (decoder
  offset, likelihood statistics, noise extremes), once before training;
- ``embed(x)``: the deterministic code of each row (posterior mean for a VAE);
- ``decode(z)``: the data-space mean for each code;
- ``loss(x, terms=None, **settings)``: the training objective of each row
  of a batch (the training loop averages it). ``settings`` are the values
  of the estimator's loss schedule for the epoch (e.g. ``kl_weight``).
  Given a dict as ``terms`` (only when training is logged), a model whose
  objective has several terms adds each term's sum over the batch's rows
  to it, as a detached tensor (``add_terms``);
- ``score(x, **settings)``: a per-sample score in which higher means more
  normal (VAEs take ``n_samples``, the number of importance samples);
- ``widest``: the most values per row in any layer, by which inference
  chunks are sized so that their memory stays bounded.

Training with ``mixed_precision`` runs ``loss`` under bfloat16 autocast. The
networks' outputs are then bfloat16; the models take them to float32
(``add_offset`` does it for decoders) and compute every loss term in float32.

Decoder outputs are as large as the batch: the models add the offset and
take reconstruction errors in their memory, not in new tensors (see
``add_offset``).
"""


def add_terms(terms, **rows):
    """Add the sum over rows of each loss term to the dict ``terms``.

    The sums stay detached tensors on the device: training reads them once
    per epoch, not per batch.
    """
    for name, values in rows.items():
        batch_sum = values.detach().sum()
        terms[name] = terms[name] + batch_sum if name in terms else batch_sum


def add_offset(decoded, offset):
    """``decoded + offset`` in float32, in the memory of ``decoded``.

    Decoders end in a linear layer or a convolution, whose gradient does not
    need their output; reusing it saves a tensor the size of the batch, whose
    first writes cost more than the addition. Under autocast the bfloat16
    output is copied to float32 first.
    """
    return decoded.float().add_(offset)
