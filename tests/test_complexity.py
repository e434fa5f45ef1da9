"""Functions a reader can hold (issue 22): no function or method above cyclomatic complexity 15, in app
code and in the code CI and the README's commands run beside it (the load and fault tests, the scripts,
the benchmarks).

radon's own measure (radon.complexity.cc_visit, as `radon cc` reports it) over every module of the apps,
migrations and tests aside, of loadtest/, scripts/ (its extension-less Python scripts too, such as
scripts/check-translations) and bench/. A function over the bound is split into named steps, each with
a docstring saying why it is a step, rather than listed here.
"""

from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "images", "api", "imsperm", "federation")
# What CI and the README's commands run beside the apps: make loadtest / faulttest, the scripts, make bench.
BESIDE_THE_APPS = ("loadtest", "scripts", "bench")
MAX_COMPLEXITY = 15
# Functions allowed above the bound for now, as "path:Class.method" — empty: none is.
KNOWN_EXCEPTIONS: frozenset[str] = frozenset()


def app_modules() -> list[Path]:
    return sorted(path for app in APPS for path in (ROOT / app).rglob("*.py")
                  if not {"migrations", "tests"} & set(path.relative_to(ROOT).parts))


def is_python_script(path: Path) -> bool:
    """An extension-less script Python runs (its #! line names python), e.g. scripts/check-translations."""
    if path.suffix or not path.is_file():
        return False
    first_line = path.read_text(encoding="utf-8", errors="replace").partition("\n")[0]
    return first_line.startswith("#!") and "python" in first_line


def beside_the_apps() -> list[Path]:
    """The modules of loadtest/, scripts/ and bench/, with the extension-less Python scripts."""
    return sorted(path for folder in BESIDE_THE_APPS for path in (ROOT / folder).rglob("*")
                  if path.suffix == ".py" or is_python_script(path))


def measured() -> list[Path]:
    return app_modules() + beside_the_apps()


def functions(blocks):
    """Every function radon measured: cc_visit lists functions, methods (fullname "Class.method") and
    classes; a class (its methods' total) is not a function, and a nested function counts on its own."""
    for block in blocks:
        if not isinstance(block, Class):
            yield block
            yield from functions(block.closures)


def too_complex() -> list[str]:
    return [f"{path.relative_to(ROOT).as_posix()}:{block.fullname} ({block.complexity})"
            for path in measured() for block in functions(cc_visit(path.read_text(encoding="utf-8")))
            if block.complexity > MAX_COMPLEXITY]


def test_the_apps_have_modules_to_measure():
    assert len(app_modules()) > 50


def test_the_code_beside_the_apps_is_measured_too():
    names = {path.relative_to(ROOT).as_posix() for path in beside_the_apps()}
    assert {"loadtest/world.py", "loadtest/faulttest.py", "bench/decisions.py", "scripts/template_strings.py",
            "scripts/check-translations"} <= names
    assert "scripts/find-python" not in names  # a shell script: not Python, not measured


def test_no_function_in_app_code_or_beside_it_is_above_complexity_15():
    over = [name for name in too_complex() if name.rsplit(" (", 1)[0] not in KNOWN_EXCEPTIONS]
    assert not over, "Split these into named steps (radon cyclomatic complexity above 15): " + ", ".join(over)


def test_every_known_exception_is_still_over_the_bound():
    over = {name.rsplit(" (", 1)[0] for name in too_complex()}
    assert not KNOWN_EXCEPTIONS - over, f"No longer above the bound, drop them: {sorted(KNOWN_EXCEPTIONS - over)}"
