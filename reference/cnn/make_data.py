"""Writes the CNN assignment's data/: 12x12 grayscale images of four shapes, each drawn at a random size
and position on a noisy background. Made here rather than downloaded, and the same on every run: the only
source of randomness is random.Random(SEED).random(), whose sequence Python keeps from version to version.

Public (in the student bundle, and in every worker's data/): the training images and their labels, and
the held-out images. Hidden (opened only by the grader's tests): the held-out labels.

    python reference/cnn/make_data.py [FOLDER]      # FOLDER defaults to data/ beside this script
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np

SIDE = 12
SHAPES = ("horizontal line", "vertical line", "plus", "square")
N_TRAIN, N_HELD_OUT = 800, 400
SEED = 12


def _below(rng: random.Random, n: int) -> int:
    """A whole number in 0..n-1."""
    return int(rng.random() * n)


def draw(kind: int, rng: random.Random) -> np.ndarray:
    """One image (SIDE, SIDE) of uint8: background noise 0-59, the shape's pixels 150-255."""
    size = 4 + _below(rng, 4)  # 4 to 7 pixels across
    top, left = _below(rng, SIDE - size + 1), _below(rng, SIDE - size + 1)
    image = np.array([[_below(rng, 60) for _ in range(SIDE)] for _ in range(SIDE)], dtype=np.uint8)
    middle_row, middle_column = top + size // 2, left + size // 2
    across = [(middle_row, left + j) for j in range(size)]
    down = [(top + i, middle_column) for i in range(size)]
    outline = [(top + i, left + j) for i in range(size) for j in range(size) if {i, j} & {0, size - 1}]
    ink = 150 + _below(rng, 106)
    for row, column in (across, down, across + down, outline)[kind]:
        image[row, column] = ink
    return image


def make(n: int, rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    """n images, as many of each shape as can be, in a shuffled order: (n, SIDE, SIDE) uint8, (n,) int64."""
    labels = [i % len(SHAPES) for i in range(n)]
    for i in range(n - 1, 0, -1):  # Fisher-Yates, with random() only
        j = _below(rng, i + 1)
        labels[i], labels[j] = labels[j], labels[i]
    return np.stack([draw(kind, rng) for kind in labels]), np.array(labels, dtype=np.int64)


def main(folder: Path) -> None:
    rng = random.Random(SEED)
    train_images, train_labels = make(N_TRAIN, rng)
    held_out_images, held_out_labels = make(N_HELD_OUT, rng)
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in (("shapes_train_images", train_images), ("shapes_train_labels", train_labels),
                        ("shapes_test_images", held_out_images), ("shapes_test_labels", held_out_labels)):
        np.save(folder / f"{name}.npy", array, allow_pickle=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "data")
