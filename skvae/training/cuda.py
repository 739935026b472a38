"""How training runs on a CUDA GPU: cuDNN picks its fastest convolutions.

With ``torch.backends.cudnn.benchmark`` on, cuDNN times the algorithms it
has for each new convolution shape once and keeps the fastest; training
repeats the same shapes thousands of times. The flag is process-wide, so
concurrent fits (threads) share it: the first to start turns it on, and the
last to finish gives the caller's setting back.
"""

import threading
from contextlib import contextmanager

import torch

_lock = threading.Lock()
_users = 0  # fits running under cudnn_autotuning
_caller_setting = None  # the flag as it was before the first of them


@contextmanager
def cudnn_autotuning():
    """Run the block with cuDNN benchmark mode on; restore it after the last one."""
    global _users, _caller_setting
    with _lock:
        if _users == 0:
            _caller_setting = torch.backends.cudnn.benchmark
            torch.backends.cudnn.benchmark = True
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                torch.backends.cudnn.benchmark = _caller_setting
