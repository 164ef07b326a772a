"""`grade similar`: disguised copies rank above independent solutions, the stub is no evidence, the samples
are not flagged among themselves, hostile notebooks are reported and never crash it, and the HTML report
shows its highlights in a real browser."""
import itertools
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

import similar_class as sc
from autograder.grading.notebook import Notebook, NotebookCell, read_notebook
from autograder.course.similarity.code import MAX_CODE_CHARS, Stub
from autograder.course.similarity.collect import collect
from autograder.course.similarity.evidence import MAX_MATCHES, matches
from autograder.course.similarity.html import COLOURS
from autograder.course.similarity.index import CALIBRATED_COPIES, CALIBRATED_INDEPENDENT, THRESHOLD, Entry, similar_pairs
from cli import main

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("mlp", "cnn", "optimization", "lstm", "mha")
COPIED = ("correct_loops", "correct_functional", "correct_vectorised", "indep_plain", "indep_verbose",
          "mistake_gradient_sign")   # the last is the reference solution with one mistake: its copies score lowest


def invoke(*args):
    return CliRunner().invoke(main, ["similar", *map(str, args), "--root", str(ROOT)], catch_exceptions=False)


def scores(folder: Path, against: list[Path] = ()) -> dict[tuple[str, str], float]:
    """Every pair's score, by the two students (or known submissions' paths), as the command computes it."""
    collection = collect(folder, list(against), None, ROOT)
    subs = collection.submissions
    pairs = similar_pairs([Entry(s.student, s.known, s.code.fingerprints) for s in subs],
                          collection.reference_kgrams)
    found = {(subs[p.first].student, subs[p.second].student): p.score for p in pairs}
    students = [s.student for s in subs]
    return {pair: found.get(pair, found.get(pair[::-1], 0.0)) for pair in itertools.combinations(students, 2)}


@pytest.fixture(scope="module")
def disguised_class(tmp_path_factory):
    """The MLP samples, two independent solutions, and five disguised copies of six of them. Each student's
    origin: its own for the correct and independent solutions, "reference" for the mistake samples (each is
    the reference solution with one mistake planted)."""
    folder = tmp_path_factory.mktemp("class")
    origin = {}
    for path in sorted(sc.SAMPLES.glob("*.ipynb")):
        sc.save(sc.load(path), folder / path.stem / "mlp.ipynb")
        origin[path.stem] = "reference" if path.stem.startswith("mistake") else path.stem
    for name, solution in sc.INDEPENDENT.items():
        sc.save(sc.filled_stub(solution), folder / name / "mlp.ipynb")
        origin[name] = name
    for which, base in enumerate(COPIED):
        original = sc.load(folder / base / "mlp.ipynb")
        for disguise, make in sc.DISGUISES.items():
            copy = make(original, which) if disguise == "dead_code" else make(original)
            sc.save(copy, folder / f"{base}__{disguise}" / "mlp.ipynb")
            origin[f"{base}__{disguise}"] = origin[base]
    return folder, origin


def test_every_disguised_copy_ranks_above_every_independent_pair(disguised_class):
    folder, origin = disguised_class
    copies, independent = {}, {}
    for (a, b), score in scores(folder).items():
        if a.split("__")[0] == b.split("__")[0]:
            copies[a, b] = score
        elif origin[a] != origin[b]:
            independent[a, b] = score
    assert len(copies) == len(COPIED) * 15 and len(independent) > 700
    lowest_copy = min(copies, key=copies.get)
    highest_independent = max(independent, key=independent.get)
    assert copies[lowest_copy] > independent[highest_independent], (lowest_copy, highest_independent)
    assert independent[highest_independent] <= CALIBRATED_INDEPENDENT < THRESHOLD
    of_own_code = {pair: s for pair, s in copies.items() if origin[pair[0]] != "reference"}
    assert min(of_own_code.values()) >= CALIBRATED_COPIES >= THRESHOLD


@pytest.mark.parametrize("disguise", ["renamed", "reordered", "recommented", "split_and_merged"])
def test_disguises_leave_the_fingerprints_as_they_were(disguise):
    stub = Stub(read_notebook(sc.STUB), read_notebook(ROOT / "reference" / "mlp" / "mlp.ipynb"))
    original = sc.load(sc.SAMPLES / "correct_loops.ipynb")
    before = stub.code_of(_notebook(original)).fingerprints
    assert len(before) > 150
    assert stub.code_of(_notebook(sc.DISGUISES[disguise](original))).fingerprints == before


def _notebook(raw: dict) -> Notebook:
    return Notebook([NotebookCell(c["cell_type"], sc.source(c), c.get("metadata", {})) for c in raw["cells"]], {})


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_stub_alone_has_no_fingerprints_and_scores_zero(tmp_path, assignment):
    stub_path = ROOT / "assignments" / assignment / f"{assignment}.ipynb"
    stub = Stub(read_notebook(stub_path), read_notebook(ROOT / "reference" / assignment / f"{assignment}.ipynb"))
    assert stub.code_of(read_notebook(stub_path)).fingerprints == frozenset()
    for student in ("alice", "bob"):
        (tmp_path / student).mkdir()
        shutil.copy(stub_path, tmp_path / student / f"{assignment}.ipynb")
    shutil.copy(next((ROOT / "examples" / "submissions" / assignment).glob("correct_*.ipynb")),
                tmp_path / "carol.ipynb")
    assert set(scores(tmp_path).values()) == {0.0}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_samples_are_not_flagged_but_the_mistakes_are_against_the_reference(tmp_path, assignment):
    """The calibration: no two samples are flagged as a class; against the reference (a known solution)
    every mistake sample (the reference with one mistake) is, and no independently written one is."""
    for path in (ROOT / "examples" / "submissions" / assignment).glob("*.ipynb"):
        (tmp_path / path.stem).mkdir()
        shutil.copy(path, tmp_path / path.stem / f"{assignment}.ipynb")
    reference = ROOT / "reference" / assignment
    found = scores(tmp_path, [reference])
    among = {pair: s for pair, s in found.items() if f"{assignment}.ipynb" not in pair}
    assert max(among.values()) < THRESHOLD
    assert max(s for pair, s in among.items() if any(p.startswith("correct") for p in pair)) <= CALIBRATED_INDEPENDENT
    against = {a: s for (a, b), s in found.items() if b == f"{assignment}.ipynb"}
    assert all(s >= THRESHOLD for a, s in against.items() if a.startswith("mistake")), against
    assert all(s <= CALIBRATED_INDEPENDENT for a, s in against.items() if a.startswith("correct")), against


# ------------------------------------------------------------------ the command

def _copy_class(folder: Path, samples: dict[str, str]) -> Path:
    for student, sample in samples.items():
        (folder / student).mkdir(parents=True)
        shutil.copy(sc.SAMPLES / f"{sample}.ipynb", folder / student / "mlp.ipynb")
    return folder


def test_a_copied_pair_is_flagged_with_exit_1_and_the_json_says_where(tmp_path):
    folder = _copy_class(tmp_path / "class", {"alice": "correct_loops", "carol": "correct_vectorised"})
    sc.save(sc.renamed(sc.reordered(sc.load(sc.SAMPLES / "correct_loops.ipynb"))), folder / "bob" / "mlp.ipynb")
    result = invoke(folder, "--json", tmp_path / "out.json", "--html", tmp_path / "out.html")
    assert result.exit_code == 1, result.output
    data = json.loads((tmp_path / "out.json").read_text())
    assert (data["assignment"], data["compared"], data["known"], data["flagged"]) == ("mlp", 3, 0, 1)
    top = data["pairs"][0]
    assert {top["first"]["student"], top["second"]["student"]} == {"alice", "bob"}
    assert top["flagged"] and top["score"] >= CALIBRATED_COPIES and top["lines"][0] > 30
    assert {"cell", "lines"} <= top["matches"][0]["first"].keys()
    assert all(not p["flagged"] for p in data["pairs"][1:])
    assert "alice" in result.output and "flagged" in result.output


def test_nothing_flagged_exits_with_0(tmp_path):
    folder = _copy_class(tmp_path, {"alice": "correct_loops", "bob": "correct_functional",
                                    "carol": "correct_vectorised"})
    result = invoke(folder)
    assert result.exit_code == 0, result.output
    assert "0 pair(s) at or above the threshold" in result.output


def test_against_compares_with_known_solutions_but_never_among_them(tmp_path):
    folder = _copy_class(tmp_path / "class", {"alice": "mistake_gradient_sign", "bob": "correct_loops"})
    known = tmp_path / "last_year"
    for name in ("x", "y"):   # two copies of last year's solution: never a pair
        (known / name).mkdir(parents=True)
        shutil.copy(ROOT / "reference" / "mlp" / "mlp.ipynb", known / name / "mlp.ipynb")
    result = invoke(folder, "--against", known, "--json", tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text())
    flagged = [(p["first"]["student"], p["second"]["submission"]) for p in data["pairs"] if p["flagged"]]
    assert result.exit_code == 1 and data["known"] == 2
    assert sorted(flagged) == [("alice", str(known / "x" / "mlp.ipynb")), ("alice", str(known / "y" / "mlp.ipynb"))]
    assert all(not p["first"]["known"] for p in data["pairs"])


def test_a_missing_folder_is_a_usage_error_naming_it(tmp_path):
    result = invoke(tmp_path / "no-such-class")
    assert result.exit_code == 2 and "no-such-class" in result.output


@pytest.mark.parametrize("setup, message", [
    (lambda folder: None, "no notebooks found in"),
    (lambda folder: _copy_class(folder, {"alice": "correct_loops"}) and shutil.copy(
        ROOT / "examples" / "submissions" / "cnn" / "correct_unfold_modulelist.ipynb", folder / "bob.ipynb"),
     "holds notebooks of several assignments: cnn (1), mlp (1); pass --assignment"),
])
def test_a_class_the_command_cannot_compare_is_a_usage_error(tmp_path, setup, message):
    setup(tmp_path)
    result = invoke(tmp_path)
    assert result.exit_code == 2 and message in result.output


def test_an_unknown_assignment_is_a_usage_error(tmp_path):
    _copy_class(tmp_path, {"alice": "correct_loops"})
    result = invoke(tmp_path, "--assignment", "nope")
    assert result.exit_code == 2 and "unknown assignment 'nope'" in result.output


def test_bad_notebooks_are_listed_by_name_and_the_rest_still_compared(tmp_path):
    folder = _copy_class(tmp_path / "class", {"alice": "correct_loops", "bob": "correct_loops"})
    (folder / "carol").mkdir()
    (folder / "carol" / "mlp.ipynb").write_text("{ not json")
    nb = sc.filled_stub({"mlp": "x = 1\n" * (MAX_CODE_CHARS // 6 + 1)})
    sc.save(nb, folder / "dave" / "mlp.ipynb")
    os.symlink(folder / "alice" / "mlp.ipynb", folder / "erin.ipynb")
    shutil.copy(ROOT / "examples" / "submissions" / "cnn" / "correct_unfold_modulelist.ipynb", folder / "frank.ipynb")
    result = invoke(folder, "--assignment", "mlp", "--json", tmp_path / "out.json")
    assert result.exit_code == 3, result.output
    data = json.loads((tmp_path / "out.json").read_text())
    left = {Path(item["submission"]).relative_to(folder).as_posix(): (item["status"], item["reason"])
            for item in data["not_compared"]}
    assert left["carol/mlp.ipynb"][0] == "unreadable" and "is not valid JSON" in left["carol/mlp.ipynb"][1]
    assert left["dave/mlp.ipynb"][0] == "unreadable"
    assert re.fullmatch(rf"has \d+ characters of code, over the limit of {MAX_CODE_CHARS} for comparing",
                        left["dave/mlp.ipynb"][1])
    assert left["erin.ipynb"][0] == "unreadable" and "symbolic link" in left["erin.ipynb"][1]
    assert left["frank.ipynb"] == ("other assignment", "is a notebook for assignment 'cnn'")
    assert data["flagged"] == 1 and "carol/mlp.ipynb" in result.output


source_text = st.text(st.sampled_from(list("def class(x):\n\t =+-*/'\"#@.,[]{}0123456789_abcXYZ\\\r\x0c\x00é")),
                      max_size=400)


@given(st.lists(source_text, min_size=1, max_size=4))
def test_any_cell_text_is_compared_without_crashing(sources):
    stub = Stub(read_notebook(sc.STUB))
    nb = Notebook([NotebookCell("code", text, {}) for text in sources], {})
    code = stub.code_of(nb)
    assert all(0 <= t.start <= t.end <= len(code.cells[u.cell].source) for u in code.units for t in u.tokens)


@pytest.mark.parametrize("text", [
    "x = (" + ' "a"' * 16_000 + ")\n",      # strings in a row: docstring detection must stay linear
    "(" * 30_000 + ")" * 30_000,            # nesting the parser refuses
    "x = x + 1\n" * 6_000,                  # one line repeated: every k-gram matches everywhere
    'x = """' + "a" * 60_000,               # a string that never ends
], ids=["strings", "nested", "repeated", "unclosed"])
def test_pathological_code_is_compared_in_bounded_time(text):
    assert len(text) <= MAX_CODE_CHARS
    stub = Stub(read_notebook(sc.STUB))
    started = time.monotonic()
    code = stub.code_of(Notebook([NotebookCell("code", text, {})], {}))
    assert len(matches(code, code, frozenset())) <= MAX_MATCHES
    assert time.monotonic() - started < 60   # seconds at worst on a loaded machine; hours if quadratic


def test_the_html_escapes_everything_a_student_wrote(tmp_path):
    hostile = '</pre><script>alert("x")</script><img src=x onerror=alert(1)>'
    nb = sc.load(sc.SAMPLES / "correct_loops.ipynb")
    for cell in sc.solution_cells(nb):
        cell["source"] = sc.source(cell).replace("return", f"x = '{hostile}'\n    return", 1)
    folder = tmp_path / "class"
    for student in ("alice", "bob<b>"):
        sc.save(nb, folder / student / "mlp.ipynb")
    result = invoke(folder, "--html", tmp_path / "report.html")
    assert result.exit_code == 1
    page = (tmp_path / "report.html").read_text()
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;/pre&gt;&lt;script&gt;" in page and "bob&lt;b&gt;" in page
    assert "Content-Security-Policy" in page and "src=" not in page.replace("src=x", "")


# ------------------------------------------------------------------ the report in a real browser

def _browser() -> str | None:
    return next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


def test_the_report_shows_the_copied_code_highlighted_in_a_browser(tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no headless Chromium here: on Debian, apt-get install chromium (.ci/run does)")
    folder = _copy_class(tmp_path / "class", {"alice": "correct_loops", "carol": "correct_functional"})
    sc.save(sc.renamed(sc.load(sc.SAMPLES / "correct_loops.ipynb")), folder / "bob" / "mlp.ipynb")
    page = tmp_path / "report.html"
    assert invoke(folder, "--html", page, "--top", "1").exit_code == 1
    shot = tmp_path / "shot.png"
    width, height = 1200, 2400
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--force-color-profile=srgb", "--hide-scrollbars",
                    f"--window-size={width},{height}", f"--screenshot={shot}", page.as_uri()],
                   check=True, capture_output=True, timeout=180)
    with Image.open(shot) as image:
        assert image.size == (width, height)
        pixels = np.asarray(image.convert("RGB"))
    colours = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in COLOURS])
    highlighted = (pixels[:, :, None, :] == colours[None, None]).all(axis=3).any(axis=2)
    left, right = highlighted[:, :width // 2].sum(), highlighted[:, width // 2:].sum()
    assert left > 20_000 and right > 20_000, (left, right)   # the same code, highlighted on both sides
    assert len({tuple(c) for c in pixels[highlighted]}) >= 4   # matches in several colours
