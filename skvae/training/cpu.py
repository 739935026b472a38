"""How training runs on the CPU: its thread count and denormal numbers.

Threads. Torch splits each operation over all its intra-op threads. For a small
network at a small batch, every one of the hundred-odd operations of a
training step then pays for waking and joining the threads, which costs more
than the work it shares; when another process keeps a core busy, the threads
wait on each other and a step gets several times slower. So training on the
CPU uses one thread per ``FLOPS_PER_THREAD`` of work in a step, never more
than torch would use. Torch keeps that setting per thread (a thread started
later takes the last value set); training changes it in the thread that
trains, and only while it trains.

Busy cores. When another process keeps a core busy, a thread that shares
that core runs only part of the time, and every operation split over the
threads waits for it: with two threads on two cores, one of them busy, a
conv DenoisingAE trained 50 times slower than idle and scoring 9 times.
So training and inference use no more threads than there are cores that
other processes leave free (``free_cores``: Linux counts the tasks running
now; elsewhere all cores count as free), looked up when training starts and
at each inference pass (scoring, ``offset_``, checkpoints).
The thread count can change float32 results in their last bits, so a seeded
fit on a busy machine may differ that much from the same fit on an idle one
(see the reproducibility notes in the training guide).

Denormals. Adam's moment estimates of weights whose gradients have died
away (a dead unit, a pixel that is almost always blank) decay geometrically,
by 0.9 per step for the first moment, and pass through the range of denormal
floats (below 1.2e-38) on their way to zero. x86 CPUs compute with denormal
values many times slower than with normal ones: after 4 epochs of the
784-128-64-32-2 VAE at batch 32, 5% of the optimizer state is denormal and
an Adam step takes 5 times as long. Training therefore flushes denormals to
zero, which changes values below 1e-38 only, in the thread that trains (the
whole step when it trains on one thread), and restores the caller's setting
afterwards.
"""

import math
import os
from contextlib import contextmanager

import torch
from torch.utils.flop_counter import FlopCounterMode

# work per training step (forward and backward) that justifies one more
# thread: a 784-128-64-32-2 VAE gets one thread up to batch 64 and two at 128
FLOPS_PER_THREAD = 1e8


def step_threads(module, n_features, latent_dim, batch_size, decoder_passes=1):
    """Threads for a training step of ``module`` on batches of ``batch_size``.

    The forward pass of one row is counted (matrix products and
    convolutions), with ``decoder_passes`` decoder passes per row
    (importance samples); backward costs about twice as much.
    """
    was_training = module.training
    module.eval()  # batch norm takes a single row in eval mode only
    device = next(module.parameters()).device
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module.embed(torch.zeros(1, n_features, device=device))
        module.decode(torch.zeros(decoder_passes, latent_dim, device=device))
    module.train(was_training)
    step_flops = 3 * counter.get_total_flops() * batch_size
    return max(1, math.ceil(step_flops / FLOPS_PER_THREAD))


def _running_elsewhere():
    """Tasks running now outside this process: the kernel's count of running
    tasks (``/proc/loadavg``) less this process's running threads."""
    with open("/proc/loadavg") as loadavg:
        running = int(loadavg.read().split()[3].split("/")[0])
    own = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as stat:
                own += stat.read().rpartition(")")[2].split()[0] == "R"
        except OSError:  # the thread has ended
            continue
    return running - own


def allowed_cores():
    """The cores this process may run on (all of them where that is not known)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def free_cores(looks=3):
    """The cores this process may use that no other process keeps busy now.

    The kernel counts running tasks over the whole machine (in a container,
    usually the host), so they are set against all its cores, and the
    result is capped by the cores this process may run on. The least of
    ``looks`` looks counts: one look can catch a short-lived task, or one of
    this process's threads in between. Where the kernel does not tell (not
    Linux), every core counts as free.
    """
    allowed = allowed_cores()
    try:
        busy = min(_running_elsewhere() for _ in range(looks))
    except (OSError, ValueError, IndexError):
        return allowed
    return max(1, min(allowed, (os.cpu_count() or allowed) - max(busy, 0)))


@contextmanager
def cpu_threads(n_threads):
    """Run the block with at most ``n_threads`` intra-op threads.

    Never more than the caller's setting, which comes back afterwards.
    """
    before = torch.get_num_threads()
    if n_threads >= before:  # nothing to change
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def flushing_denormals():
    """Whether this thread flushes denormal floats to zero (torch has no getter)."""
    # on the CPU whatever the default device: the setting is the CPU thread's
    return torch.tensor(1e-39, dtype=torch.float32, device="cpu").item() == 0.0


@contextmanager
def flush_denormals():
    """Run the block with denormal floats flushed to zero in this thread.

    A no-op on CPUs where torch cannot set it; the caller's setting comes
    back afterwards.
    """
    before = flushing_denormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


@contextmanager
def cpu_training(n_threads):
    """Train the block on at most ``n_threads`` threads, denormals flushed."""
    with cpu_threads(n_threads), flush_denormals():
        yield
