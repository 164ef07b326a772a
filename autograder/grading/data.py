"""An assignment's data files: what the `data/` folder beside its notebook holds, declared in the notebook's
metadata by file name,

    {"autograder": {"assignment": "cnn", "data": {"public": ["shapes_train_images.npy"],
                                                  "hidden": ["shapes_test_labels.npy"]}}}

Public files are what a student's notebook reads: every worker gets them read-only as `data/` in its
working folder, so a cell opens `data/<file>` in the grader as it does in Jupyter beside the notebook, and
`grade release` ships them with the bundle. Hidden files (held-out labels) never leave the instructor's
folder: only tests, in the grading process, open them (`data_file`). The declaration read is always the
instructor's notebook's (the reference, or the bundle's stub), never a submission's.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import UsageError
from autograder.grading.notebook import Notebook
from autograder.identifiers import shown

FOLDER = "data"
KINDS = ("public", "hidden")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")   # a plain file name: no folder, no `..`


@dataclass(frozen=True)
class DataFiles:
    """The files an assignment's notebook declares, and where they are."""

    notebook: Path
    public: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()

    @property
    def folder(self) -> Path:
        return self.notebook.parent / FOLDER

    def public_files(self) -> tuple[Path, ...]:
        """The public files, each of which must be there: every worker gets a copy."""
        paths = tuple(self.folder / name for name in self.public)
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise UsageError(f"public data files declared by {self.notebook} are missing: {', '.join(missing)}")
        return paths

    def for_test(self, name: str, test: str, public_test: bool) -> Path:
        """The path of a declared file a test opens; a public test may open only public files, as those are
        all the student bundle holds."""
        if name in self.hidden and public_test:
            raise UsageError(f"{test} is a public test but opens the hidden file {FOLDER}/{name}, which students "
                             f"do not have: make the test hidden or the file public ({self.notebook})")
        if name not in self.public and name not in self.hidden:
            raise UsageError(f"{test} opens {FOLDER}/{shown(name)}, which {self.notebook} does not declare "
                             f"(metadata autograder.data)")
        return self.folder / name

    def problems(self) -> list[str]:
        """What is wrong with the files themselves: a declared file that is not a regular file in data/, or a
        file in data/ that is not declared (it would be neither shipped nor shown to workers)."""
        found: list[str] = []
        if os.path.islink(self.folder) or self.folder.exists() and not self.folder.is_dir():
            return [f"{self.folder} is not a folder"]
        for name in (*self.public, *self.hidden):
            try:
                mode = os.lstat(self.folder / name).st_mode
            except OSError:
                found.append(f"{self.folder / name} is declared by {self.notebook.name} but does not exist")
                continue
            if not stat.S_ISREG(mode):
                found.append(f"{self.folder / name} is not a regular file (a link or a folder)")
        declared = {*self.public, *self.hidden}
        present = sorted(os.listdir(self.folder)) if self.folder.is_dir() else []
        for name in present:
            if name not in declared:
                found.append(f"{self.folder / name} is not declared in {self.notebook.name}'s metadata "
                             f"(autograder.data): list it as public or hidden")
        return found


def declared_data(nb: Notebook, path: Path) -> DataFiles:
    """The data files notebook `nb` (read from `path`) declares; a malformed declaration is a UsageError."""
    section = nb.metadata.get("autograder")
    declared = section.get("data") if isinstance(section, dict) else None
    if declared is None:
        return DataFiles(path)
    where = f"{path}: metadata autograder.data"
    if not isinstance(declared, dict) or not set(declared) <= set(KINDS):
        raise UsageError(f"{where} must be an object with the lists \"public\" and \"hidden\"")
    lists: dict[str, tuple[str, ...]] = {}
    for kind in KINDS:
        names = declared.get(kind, [])
        if not isinstance(names, list):
            raise UsageError(f"{where}.{kind} must be a list of file names")
        for name in names:
            if not isinstance(name, str) or not FILE_NAME.fullmatch(name):
                raise UsageError(f"{where}.{kind}: {shown(name)} is not a plain file name in {FOLDER}/ (letters, "
                                 "digits, '.', '_' and '-', starting with a letter or digit)")
        lists[kind] = tuple(names)
    every = [*lists["public"], *lists["hidden"]]
    twice = sorted({name for name in every if every.count(name) > 1})
    if twice:
        raise UsageError(f"{where} lists {', '.join(twice)} more than once")
    return DataFiles(path, lists["public"], lists["hidden"])
