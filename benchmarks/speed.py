"""Training and scoring throughput: skvae against PyOD, skorch and a plain loop.

All contenders run in one process, on the same MNIST rows, with the same
network where they can share one:

- PyOD's VAE with its defaults (784-128-64-32 -> 2, dropout 0.2, Adam 1e-3
  with weight decay 1e-5);
- skvae's VAE with that network and those settings (no validation split,
  no early stopping, no KL warm-up: the same work as PyOD);
- a skorch ``NeuralNet`` and a hand-written PyTorch loop (shuffled index
  into a pre-made tensor, ``torch.optim.Adam`` as users write it), both
  training skvae's own torch module;
- the same three for skvae's ``ConvVAE`` with its default architecture
  (PyOD has no convolutional VAE).

It also measures training at batch 32 while another process keeps one core
busy (what torch's thread pool suffers from, and why skvae trains small
steps on one thread; CPU only), the slowdown of every estimator's ``fit``
and ``score_samples`` with one core busy (CPU only), skvae's ``compile``
and ``mixed_precision`` options (GPU only), scoring (``score_samples`` against PyOD's
``decision_function``) on the 60,000 MNIST training rows, and the peak
memory of ``fit`` from an in-memory array and from ``np.memmap`` files of
growing size (CPU only). Prints the tables and writes
``benchmarks/results/speed.md``.

    pip install -e ".[benchmarks]"
    python benchmarks/speed.py                  # about 20 minutes on 2 CPU cores
    python benchmarks/speed.py --quick          # a smoke run of the script
    python benchmarks/speed.py --device cuda    # on a GPU: speed-cuda.md

MNIST is read from ``$SKVAE_DATA/mnist.npz`` (default ``../shared/datasets``
beside the repository).
"""

import argparse
import contextlib
import copy
import multiprocessing
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from _common import ROOT, load_mnist, machine

from skvae import VAE, ConvVAE, DenoisingAE

PYOD_NET = dict(
    hidden_layer_sizes=(128, 64, 32),
    latent_dim=2,
    # PyOD's work: one output per pixel, scores from one posterior draw,
    # an N(0, I) prior and the rows as given
    likelihood="gaussian",
    n_importance_samples=1,
    prior="normal",
    smoothing=0,
    dropout=0.2,
    weight_decay=1e-5,
    validation_fraction=0,
    early_stopping=False,
    kl_warmup_epochs=0,
)


def pyod_network_vae(**kwargs):
    """skvae's VAE with PyOD's default network and settings."""
    return VAE(**PYOD_NET, **kwargs)


def default_conv_vae(**kwargs):
    """skvae's ConvVAE with its default architecture, doing the same work as
    the loop: no validation split, no early stopping, no KL warm-up."""
    return ConvVAE(
        validation_fraction=0, early_stopping=False, kl_warmup_epochs=0, **kwargs
    )


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved_best(runs, repeats):
    """Best seconds of each of ``runs`` (name: function returning seconds).

    The rounds interleave the runs, so that a slow spell of the machine hits
    them alike.
    """
    seconds = dict.fromkeys(runs, np.inf)
    for _ in range(repeats):
        for name, run in runs.items():
            seconds[name] = min(seconds[name], run())
    return seconds


# ---- the contenders: each trains for `epochs` over X and returns seconds -----


def fit_skvae(make, X, batch_size, epochs, device):
    model = make(batch_size=batch_size, epochs=epochs, random_state=0, device=device)
    return timed(lambda: model.fit(X))


def fit_pyod(X, batch_size, epochs, device):
    from pyod.models.vae import VAE as PyODVAE

    model = PyODVAE(batch_size=batch_size, epoch_num=epochs, verbose=0, device=device)
    return timed(lambda: model.fit(X))


def fit_loop(module, X, batch_size, epochs, weight_decay, device):
    """The loop a PyTorch user writes: shuffled index, Adam, no DataLoader.

    The data is moved to the device once, as it fits there.
    """
    module = copy.deepcopy(module).to(device).train()
    X_t = torch.from_numpy(X).to(device)
    optimizer = torch.optim.Adam(
        module.parameters(), lr=1e-3, weight_decay=weight_decay
    )

    def train():
        for _ in range(epochs):
            order = torch.randperm(len(X_t), device=device)
            for start in range(0, len(X_t), batch_size):
                loss = module.loss(X_t[order[start : start + batch_size]]).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        if X_t.is_cuda:  # the clock stops when the GPU has finished
            torch.cuda.synchronize(device)

    return timed(train)


def fit_skorch(module, X, batch_size, epochs, weight_decay, device):
    from skorch import NeuralNet

    class BatchLoss(torch.nn.Module):  # skorch calls module(X): give it the loss
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model.loss(x).mean()

    class PassThrough(torch.nn.Module):  # the criterion returns that loss
        def forward(self, loss, target=None):
            return loss

    net = NeuralNet(
        BatchLoss(copy.deepcopy(module)),
        criterion=PassThrough,
        optimizer=torch.optim.Adam,
        optimizer__weight_decay=weight_decay,
        lr=1e-3,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        device=device,
        verbose=0,
    )
    return timed(lambda: net.fit(X, None))


def fit_seconds(name, make, module, X, batch_size, epochs, weight_decay, device):
    """Seconds one contender takes to train for ``epochs`` over ``X``."""
    if name == "skvae":
        return fit_skvae(make, X, batch_size, epochs, device)
    if name == "pyod":
        return fit_pyod(X, batch_size, epochs, device)
    fit = fit_skorch if name == "skorch" else fit_loop
    return fit(module, X, batch_size, epochs, weight_decay, device)


def _spin(spinning):
    spinning.set()
    while True:
        pass


@contextlib.contextmanager
def one_core_busy():
    """Another process spins on a core while the block runs."""
    context = multiprocessing.get_context("spawn")
    spinning = context.Event()
    spinner = context.Process(target=_spin, args=(spinning,), daemon=True)
    spinner.start()
    # a spawned process imports this script first, which takes seconds
    spinning.wait()
    try:
        yield
    finally:
        spinner.terminate()
        spinner.join()


def busy_core_table(X, n_rows, epochs):
    """Samples per second at batch 32 while another process spins on a core."""
    data = X[:n_rows]
    module = trained_module(pyod_network_vae, data)
    with one_core_busy():
        speed = {
            name: n_rows
            * epochs
            / fit_seconds(name, pyod_network_vae, module, data, 32, epochs, 1e-5, "cpu")
            for name in ("skvae", "pyod", "loop")
        }
    print("one core busy, batch 32", {k: round(v) for k, v in speed.items()})
    return speed


# name: (model, rows it trains on, rows it scores): each estimator with its
# defaults (5 epochs), the ConvVAEs on the images they were measured on
SLOWDOWN_MODELS = {
    "VAE": (lambda: VAE(epochs=5, random_state=0), "mnist", 2000, 20000),
    "ConvVAE, 8x8 digits": (
        lambda: ConvVAE(epochs=5, random_state=0),
        "digits",
        1797,
        1797,
    ),
    "ConvVAE, MNIST": (lambda: ConvVAE(epochs=1, random_state=0), "mnist", 2000, 5000),
    "DenoisingAE": (
        lambda: DenoisingAE(epochs=5, random_state=0),
        "mnist",
        2000,
        20000,
    ),
    "DenoisingAE conv, 8x8 digits": (
        lambda: DenoisingAE(architecture="conv", epochs=5, random_state=0),
        "digits",
        1797,
        1797,
    ),
}


def fit_and_score_seconds(model, rows, n_fit, n_score):
    fit = timed(lambda: model.fit(rows[:n_fit]))
    return fit, timed(lambda: model.score_samples(rows[:n_score]))


def slowdown_table(X, rounds):
    """Seconds of ``fit`` and ``score_samples``, idle and with one core busy.

    Rounds alternate idle and busy; each cell is the best of ``rounds``.
    """
    from sklearn.datasets import load_digits

    data = {"mnist": X, "digits": (load_digits().data / 16).astype(np.float32)}
    best = {}
    for _ in range(rounds):
        for state in ("idle", "busy"):
            busy = one_core_busy() if state == "busy" else contextlib.nullcontext()
            with busy:
                for name, (make, source, n_fit, n_score) in SLOWDOWN_MODELS.items():
                    seconds = fit_and_score_seconds(
                        make(), data[source], n_fit, n_score
                    )
                    for key, value in zip(("fit", "score"), seconds):
                        cell = (name, key, state)
                        best[cell] = min(best.get(cell, np.inf), value)
    for name in SLOWDOWN_MODELS:
        print(
            name,
            {
                k: round(best[name, k, "busy"] / best[name, k, "idle"], 2)
                for k in ("fit", "score")
            },
        )
    return best


def trained_module(make, X):
    return make(epochs=1, random_state=0).fit(X[:512]).module_


# ---- benchmarks ------------------------------------------------------------------


def training_table(X, batch_sizes, n_rows, epochs, repeats, device):
    """Samples per second for each contender and batch size (best of repeats)."""
    conv_latent = default_conv_vae().latent_dim
    rows = []
    for model_name, make, n, wd, peers in [
        (
            "VAE 784-128-64-32-2",
            pyod_network_vae,
            n_rows,
            1e-5,
            ("pyod", "skorch", "loop"),
        ),
        (
            f"ConvVAE (32, 64) 256-{conv_latent}",
            default_conv_vae,
            n_rows // 8,
            0.0,
            ("skorch", "loop"),
        ),
    ]:
        data = X[:n]
        module = trained_module(make, data)
        for batch_size in batch_sizes:
            runs = {
                name: partial(
                    fit_seconds,
                    name,
                    make,
                    module,
                    data,
                    batch_size,
                    epochs,
                    wd,
                    device,
                )
                for name in ("skvae", *peers)
            }
            seconds = interleaved_best(runs, repeats)
            speed = {name: n * epochs / s for name, s in seconds.items()}
            rows.append((model_name, batch_size, speed))
            print(
                model_name,
                batch_size,
                {k: round(v) for k, v in speed.items()},
                flush=True,
            )
    return rows


def scoring_table(X, n_fit, epochs, device):
    """Rows per second of score_samples / decision_function on all of X."""
    from pyod.models.vae import VAE as PyODVAE

    fit_rows = X[:n_fit]
    vae = pyod_network_vae(epochs=epochs, device=device).fit(fit_rows)
    pyod = PyODVAE(epoch_num=epochs, verbose=0, device=device)
    contenders = {
        "skvae VAE score_samples": vae.score_samples,
        "skvae VAE transform": vae.transform,
        "skvae ConvVAE score_samples": ConvVAE(epochs=1, device=device)
        .fit(fit_rows[:2000])
        .score_samples,
        "PyOD VAE decision_function": pyod.fit(fit_rows).decision_function,
    }
    for method in contenders.values():
        method(X[:1000])  # warm-up
    runs = {name: partial(timed, partial(m, X)) for name, m in contenders.items()}
    seconds = interleaved_best(runs, 3)
    rows = [(name, len(X) / s) for name, s in seconds.items()]
    for name, speed in rows:
        print(name, round(speed), flush=True)
    return rows


GPU_OPTIONS = {
    "default": {},
    "compile=True": {"compile": True},
    "mixed_precision='bf16'": {"mixed_precision": "bf16"},
    "both": {"compile": True, "mixed_precision": "bf16"},
}


def options_table(X, n_rows, epochs, repeats, device):
    """skvae's training speed with each of its GPU options (samples/s).

    Each option trains once untimed first, so that compiling is not timed;
    the timed runs are interleaved, best of ``repeats``.
    """
    rows = []
    for model_name, make, n, batch_size in [
        ("VAE 784-128-64-32-2", pyod_network_vae, n_rows, 1024),
        ("ConvVAE (32, 64)", default_conv_vae, n_rows // 8, 128),
        ("ConvVAE (32, 64)", default_conv_vae, n_rows // 8, 1024),
    ]:
        args = (X[:n], batch_size, epochs, device)
        runs = {
            name: partial(fit_skvae, partial(make, **opts), *args)
            for name, opts in GPU_OPTIONS.items()
        }
        for run in runs.values():
            run()  # untimed: compiles where asked to
        seconds = interleaved_best(runs, repeats)
        speed = {name: n * epochs / s for name, s in seconds.items()}
        rows.append((model_name, batch_size, speed))
        print(model_name, batch_size, {k: round(v) for k, v in speed.items()})
    return rows


def _anon_rss_mib():
    """Anonymous resident memory: allocations, not file pages a memmap maps in."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("RssAnon is not in /proc/self/status")


def _fit_memory(path, shape, memmap, queue):
    """Peak growth of anonymous memory during one fit, sampled every 2 ms."""
    X = np.memmap(path, dtype=np.uint8, mode="r", shape=shape)
    if not memmap:
        X = np.array(X)  # an ordinary in-memory array
    pyod_network_vae(epochs=1).fit(X[:256])  # imports and first-use allocations
    baseline = peak = _anon_rss_mib()
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _anon_rss_mib())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    pyod_network_vae(epochs=1, batch_size=256, random_state=0).fit(X)
    done.set()
    sampler.join()
    queue.put(peak - baseline)


def memory_table(X, copies):
    """Peak memory growth of one fit, in MiB, in a fresh process each."""
    rows = []
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        for n_copies in copies:
            data = np.tile((X * 255).astype(np.uint8), (n_copies, 1))
            path = Path(folder) / f"mnist{n_copies}.u8"
            data.tofile(path)
            for memmap in (False, True) if n_copies == copies[0] else (True,):
                runs = []
                for _ in range(3):  # the allocator makes single runs noisy
                    queue = context.Queue()
                    args = (path, data.shape, memmap, queue)
                    process = context.Process(target=_fit_memory, args=args)
                    process.start()
                    runs.append(
                        queue.get(timeout=900)
                    )  # a crashed child must not hang us
                    process.join()
                growth = float(np.median(runs))
                kind = "np.memmap (uint8)" if memmap else "in-memory uint8 array"
                rows.append((kind, len(data), data.nbytes / 2**20, growth))
                print(kind, len(data), round(growth), "MiB", flush=True)
    return rows


# ---- report ----------------------------------------------------------------------


def slowdown_markdown(best):
    lines = [
        "",
        "## Slowdown with one core busy (seconds, idle and busy)",
        "",
        "Each estimator with its defaults (5 epochs; 1 for the ConvVAE on",
        "MNIST), `fit` and then `score_samples`, while another process spins on",
        "one of the two cores or not. Rounds alternate idle and busy; best of",
        "each. Losing one core of two should cost at most 2x.",
        "",
        "| model | rows fit / scored | fit idle | fit busy | fit slowdown "
        "| score idle | score busy | score slowdown |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (_, _, n_fit, n_score) in SLOWDOWN_MODELS.items():
        cells = []
        for key in ("fit", "score"):
            idle, busy = best[name, key, "idle"], best[name, key, "busy"]
            cells += [f"{idle:.2f}", f"{busy:.2f}", f"{busy / idle:.2f}x"]
        lines.append(
            f"| {name} | {n_fit:,} / {n_score:,} | " + " | ".join(cells) + " |"
        )
    return lines


def training_markdown(training):
    lines = [
        "## Training throughput (samples/s, higher is better)",
        "",
        "Whole `fit` calls: skvae's includes the pass over the training rows "
        "that sets `offset_`, PyOD's the one that sets `decision_scores_`; "
        "skorch and the loop only train.",
        "",
        "| model | batch | skvae | PyOD VAE | skorch | hand-written loop "
        "| skvae / PyOD | skvae / skorch | skvae / loop |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, batch, speed in training:
        cells = [
            f"{speed[k]:,.0f}" if k in speed else "-"
            for k in ("skvae", "pyod", "skorch", "loop")
        ]
        ratios = [ratio(speed, k) for k in ("pyod", "skorch", "loop")]
        lines.append(f"| {model} | {batch} | " + " | ".join(cells + ratios) + " |")
    return lines


def ratio(speed, peer):
    return f"{speed['skvae'] / speed[peer]:.2f}x" if peer in speed else "-"


def options_markdown(options):
    lines = [
        "",
        "## skvae's GPU options (training samples/s)",
        "",
        "Each option trains once untimed first (compiling happens there);",
        "the timed runs are interleaved like those above.",
        "",
        "| model | batch | " + " | ".join(GPU_OPTIONS) + " |",
        "|---|---:|" + "---:|" * len(GPU_OPTIONS),
    ]
    for model, batch, speed in options:
        cells = [f"{speed[k]:,.0f}" for k in GPU_OPTIONS]
        lines.append(f"| {model} | {batch} | " + " | ".join(cells) + " |")
    return lines


def busy_markdown(busy):
    return [
        "",
        "## Training with one core busy (samples/s, batch 32)",
        "",
        "The VAE above, 1 epoch, while another process spins on one of the",
        "cores. skvae trains steps this small on one thread; PyOD and the",
        "hand-written loop use torch's default thread count.",
        "",
        "| skvae | PyOD VAE | hand-written loop | skvae / PyOD | skvae / loop |",
        "|---:|---:|---:|---:|---:|",
        f"| {busy['skvae']:,.0f} | {busy['pyod']:,.0f} | {busy['loop']:,.0f} "
        f"| {ratio(busy, 'pyod')} | {ratio(busy, 'loop')} |",
    ]


def scoring_markdown(scoring):
    lines = [
        "",
        "## Scoring throughput on the 60,000 MNIST training rows (rows/s)",
        "",
        "Best of 3 rounds that interleave the methods.",
        "",
        "| method | rows/s |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {speed:,.0f} |" for name, speed in scoring]
    pyod = dict(scoring)["PyOD VAE decision_function"]
    skvae = dict(scoring)["skvae VAE score_samples"]
    return lines + [
        "",
        f"skvae `score_samples` is {skvae / pyod:.1f}x PyOD's `decision_function`.",
    ]


def memory_markdown(memory):
    lines = [
        "",
        "## Peak memory of `fit` (MiB)",
        "",
        "One epoch of the VAE above at batch 256, each in a fresh process: the",
        "peak growth of anonymous resident memory (allocations; the file pages",
        "a memmap maps in are the kernel's cache and not counted), median of 3.",
        "",
        "| data | rows | size (MiB) | peak memory growth (MiB) |",
        "|---|---:|---:|---:|",
    ]
    return lines + [f"| {k} | {n:,} | {mb:,.0f} | {g:,.0f} |" for k, n, mb, g in memory]


def markdown(tables, settings, command):
    """The report; ``tables`` maps each table's name to its rows, or None."""
    lines = [
        "# Speed",
        "",
        f"Machine: {machine()}. Settings: {settings}.",
        f"Command: `{command}`. All numbers from one run.",
        "",
        *training_markdown(tables["training"]),
    ]
    sections = {
        "options": options_markdown,
        "busy": busy_markdown,
        "slowdown": slowdown_markdown,
        "scoring": scoring_markdown,
        "memory": memory_markdown,
    }
    for name, section in sections.items():
        if tables[name] is not None:
            lines += section(tables[name])
    return "\n".join(lines) + "\n"


def run_tables(X, settings, device):
    """Every table this device gets, by name (None for those it does not)."""
    on_cpu = torch.device(device).type == "cpu"
    n_rows, epochs, repeats = (settings[k] for k in ("n_rows", "epochs", "repeats"))
    return {
        "training": training_table(
            X, settings["batch_sizes"], n_rows, epochs, repeats, device
        ),
        # compile and bf16 are GPU options: on a CPU, compiling rarely pays and
        # bfloat16 is slower without bfloat16 instructions
        "options": None
        if on_cpu
        else options_table(X, n_rows, epochs, repeats, device),
        "busy": busy_core_table(X, n_rows // 2, 1) if on_cpu else None,
        "slowdown": slowdown_table(X, repeats) if on_cpu else None,
        "scoring": scoring_table(X, n_rows // 2, epochs, device),
        "memory": memory_table(X, settings["copies"]) if on_cpu else None,
    }


def described(settings):
    return (
        f"{settings['n_rows']:,} MNIST rows for the VAE and an eighth of them for "
        f"ConvVAE, {settings['epochs']} epochs, best of {settings['repeats']}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, to check the script"
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="'cpu', or 'cuda' to run every contender on the GPU (no busy-core "
        "and memory tables then)",
    )
    args = parser.parse_args()
    X = load_mnist()[0]
    on_cpu = torch.device(args.device).type == "cpu"
    command = "python benchmarks/speed.py" + ("" if on_cpu else " --device cuda")
    if args.quick:
        settings = dict(
            n_rows=2000, epochs=1, repeats=1, batch_sizes=(128,), copies=(1, 2)
        )
    else:
        settings = dict(
            # a GPU epoch over 20,000 rows takes milliseconds: time more rows
            n_rows=20000 if on_cpu else 60000,
            epochs=3,
            repeats=3 if on_cpu else 2,
            batch_sizes=(32, 128, 1024),
            copies=(1, 4, 16),
        )
    print(machine())
    report = markdown(
        run_tables(X, settings, args.device), described(settings), command
    )
    name = "speed" if on_cpu else "speed-cuda"
    out = ROOT / "results" / (f"{name}-quick.md" if args.quick else f"{name}.md")
    out.parent.mkdir(exist_ok=True)
    out.write_text(report)
    print("\n" + report + f"\nWritten to {out}")


if __name__ == "__main__":
    main()
