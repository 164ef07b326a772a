"""What a non-editable install ships: every package of the engine, not only the ones an editable
install happens to find on disk."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_engine_package_is_listed_for_installation():
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    on_disk = sorted(".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "autograder").rglob("__init__.py"))
    assert sorted(listed) == on_disk
