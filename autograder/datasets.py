"""Data the assignments train and are judged on, read from files that ship with installed packages.

The digits are read straight from scikit-learn's data folder so the grader does not pay for importing
scikit-learn (about two seconds) just to load a 100 kB file.
"""
from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import torch


def _digits_file() -> Path:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-learn is not installed; it ships the 8x8 digits data set")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 1,797 8x8 digits as (X float32 (1797, 64) scaled to [0, 1], y int64 (1797,))."""
    with gzip.open(_digits_file(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    X = torch.from_numpy(table[:, :-1] / 16.0)  # (1797, 64)
    y = torch.from_numpy(table[:, -1].astype(np.int64))  # (1797,)
    return X, y


def digits_split(seed: int = 0, test_fraction: float = 0.2) -> tuple[torch.Tensor, ...]:
    """A seeded train / held-out split: (X_train, y_train, X_test, y_test)."""
    X, y = load_digits()
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(len(y) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]
