"""What a non-editable install ships: every package of the engine, not only the ones an editable
install happens to find on disk."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_engine_package_is_listed_for_installation():
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    on_disk = sorted(".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "autograder").rglob("__init__.py"))
    assert sorted(listed) == on_disk


def test_the_engine_wheel_holds_every_module_its_metadata_and_true_hashes(tmp_path):
    import base64
    import hashlib
    import zipfile

    from autograder.course.wheel import engine_wheel

    wheel = engine_wheel(tmp_path)
    assert wheel.name == "dl_autograder-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "autograder").rglob("*.py")} | {"cli.py"}
        assert modules <= names
        info = "dl_autograder-0.1.0.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        assert "Name: dl-autograder" in metadata and "Requires-Dist: torch>=2.6" in metadata
        assert "grade = cli:main" in archive.read(f"{info}/entry_points.txt").decode()
        rows = [line.split(",") for line in archive.read(f"{info}/RECORD").decode().splitlines()]
        assert {row[0] for row in rows} == names
        for path, digest, size in rows:
            if path != f"{info}/RECORD":
                data = archive.read(path)
                hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                assert (digest, int(size)) == (f"sha256={hashed}", len(data))
