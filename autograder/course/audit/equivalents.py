"""Mutants the author declares equivalent to the solution (no test could kill them), each with its reason,
in `equivalent_mutants.toml` beside the tests:

    [[equivalent]]
    id = "softmax-cross-entropy:6:dim:2"
    reason = "logits are (N, C): dim -1 is dim 1"
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from autograder.errors import UsageError
from autograder.identifiers import shown

FILE_NAME = "equivalent_mutants.toml"


def read_equivalents(folder: Path) -> dict[str, str]:
    """Declared mutant id → reason; {} without a file. A malformed file is a UsageError naming it, so a
    declaration is never dropped silently."""
    path = folder / FILE_NAME
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    entries = data.get("equivalent", [])
    if set(data) - {"equivalent"} or not isinstance(entries, list):
        raise UsageError(f"{path}: only [[equivalent]] tables belong here")
    declared: dict[str, str] = {}
    for number, entry in enumerate(entries, start=1):
        if (not isinstance(entry, dict) or set(entry) != {"id", "reason"}
                or not all(isinstance(entry[key], str) and entry[key].strip() for key in entry)):
            raise UsageError(f"{path}: equivalent {number} needs an id and a reason, both non-empty text, "
                             "and nothing else")
        if entry["id"] in declared:
            raise UsageError(f"{path}: {shown(entry['id'])} is declared twice")
        declared[entry["id"]] = entry["reason"]
    return declared


def stale_declarations(declared: dict[str, str], ids: set[str]) -> dict[str, str]:
    """The declarations whose id no mutant has (the solution or the operators changed): reported, not dropped."""
    return {mutant_id: reason for mutant_id, reason in declared.items() if mutant_id not in ids}
