"""The grader this process runs, as a wheel: so an autograder image installs the very engine the
instructor graded with, from the installed files and their metadata, with no build tools and no checkout.

A wheel is a zip of the modules and a `.dist-info` folder (METADATA, WHEEL, entry points and RECORD,
the hash of every file); pip installs it as it is.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import zipfile
from pathlib import Path

import autograder

DISTRIBUTION = "dl-autograder"
_WHEEL = "Wheel-Version: 1.0\nGenerator: dl-autograder\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
_STAMP = (1980, 1, 1, 0, 0, 0)   # the same bytes from the same files: a zip holds times


def _engine_files() -> dict[str, bytes]:
    """The modules a non-editable install holds: the `autograder` package's and `cli`."""
    package = Path(autograder.__file__).resolve().parent
    files = {f"autograder/{path.relative_to(package).as_posix()}": path.read_bytes()
             for path in sorted(package.rglob("*.py")) if "__pycache__" not in path.parts}
    cli = importlib.util.find_spec("cli")
    if cli is None or cli.origin is None:
        raise FileNotFoundError("the grade command's module (cli.py) is not installed beside the engine")
    files["cli.py"] = Path(cli.origin).read_bytes()
    return files


def _installed() -> importlib.metadata.Distribution:
    """The grader's installed metadata (a `.dist-info`), passing over a source checkout's `.egg-info`, which
    a run from the checkout's folder finds first and which has no METADATA."""
    for dist in importlib.metadata.distributions(name=DISTRIBUTION):
        if dist.read_text("METADATA"):
            return dist
    raise FileNotFoundError(f"{DISTRIBUTION} is not installed (no .dist-info with its METADATA)")


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def engine_wheel(folder: Path) -> Path:
    """Write the installed engine as `dl_autograder-<version>-py3-none-any.whl` into `folder`; its path."""
    dist = _installed()
    name, version = DISTRIBUTION.replace("-", "_"), dist.version
    info = f"{name}-{version}.dist-info"
    files = _engine_files()
    files[f"{info}/METADATA"] = (dist.read_text("METADATA") or "").encode()
    files[f"{info}/WHEEL"] = _WHEEL.encode()
    files[f"{info}/entry_points.txt"] = (dist.read_text("entry_points.txt") or "").encode()
    record = "".join(f"{path},{_digest(data)},{len(data)}\n" for path, data in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    path = Path(folder) / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for member, data in files.items():
            entry = zipfile.ZipInfo(member, _STAMP)
            entry.external_attr = 0o644 << 16
            wheel.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return path
