"""Seeds in one place: the same params give the same metrics."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int, threads: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def epoch_rng(seed: int, fold: int, epoch: int) -> np.random.Generator:
    """Randomness of one epoch depends only on (seed, fold, epoch), so a resumed run
    replays exactly the batches an uninterrupted run would have seen."""
    torch.manual_seed(seed * 1_000_003 + fold * 1_009 + epoch)
    return np.random.default_rng([seed, fold, epoch])
