"""Fingerprints of a token stream by winnowing (Schleimer, Wilkerson and Aiken, SIGMOD 2003, as in MOSS).

Every run of K consecutive tokens (a k-gram) is hashed; in every window of WINDOW consecutive k-grams
the smallest hash is kept as a fingerprint. Two streams that share a run of at least K + WINDOW - 1
tokens are sure to share a fingerprint, and runs shorter than K never make one, so a few tokens that
happen to agree are not evidence. Hashes are the same in every process (no per-process salt), so
fingerprints made in different processes can be compared.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

K = 12        # tokens in a k-gram: about one line of code
WINDOW = 4    # k-grams in a window: every shared run of K + WINDOW - 1 = 15 tokens leaves a fingerprint


@lru_cache(maxsize=65536)
def token_id(text: str) -> int:
    """A stable 64-bit number for a token's text (Python's own string hash changes between processes)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def kgram_hashes(texts: Sequence[str], k: int = K) -> list[int]:
    """The hash of every k-gram of the stream, in order; none for a stream shorter than k."""
    ids = [token_id(text) for text in texts]
    return [hash(tuple(ids[i:i + k])) for i in range(len(ids) - k + 1)]


def winnow(hashes: Sequence[int], window: int = WINDOW) -> list[int]:
    """The positions of the fingerprints: the smallest hash of each window (the rightmost on a tie),
    each position once. A stream with fewer k-grams than a window keeps its smallest."""
    if not hashes:
        return []
    if len(hashes) <= window:
        return [min(range(len(hashes)), key=lambda i: (hashes[i], -i))]
    chosen: list[int] = []
    for start in range(len(hashes) - window + 1):
        best = start
        for i in range(start + 1, start + window):
            if hashes[i] <= hashes[best]:
                best = i
        if not chosen or chosen[-1] != best:
            chosen.append(best)
    return chosen
