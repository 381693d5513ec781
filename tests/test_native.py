"""The hot modules run compiled (mypyc) after an install, and as Python when asked to or when
their sources changed after the build (sagaway.native)."""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sagaway import native

SRC = Path(native.__file__).resolve().parents[1]
PROBE = (
    "import sys, sagaway; from sagaway import native\n"
    "import sagaway.interpreter.advance, sagaway.store.rows\n"
    "print(native.status().compiled)\n"
    "for m in native.COMPILED: print(sys.modules[m].__file__)\n"
)


def _compiled_build() -> None:
    """Skip (fail under CI=true, whose install must compile) when this install is Python."""
    status = native.status()
    if status.compiled:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI's install did not compile the hot modules: {status.reason}")
    pytest.skip(f"this install runs the hot modules as Python: {status.reason}")


def _probe(root: Path, code: str = PROBE, **env: str) -> tuple[bool, list[str], str]:
    """Run ``code`` (PROBE, or more after it) with ``root`` first on the path: whether it
    found the build used, the words it printed after that, and its stderr."""
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(root), **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    first, *rest = run.stdout.split()
    return first == "True", rest, run.stderr


def _copy_of_the_build(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    shutil.copytree(SRC / "sagaway", root / "sagaway", ignore=shutil.ignore_patterns("*.pyc"))
    for shared in SRC.glob("*__mypyc*"):  # the library the compiled modules share
        shutil.copy2(shared, root / shared.name)
    return root


def test_an_install_runs_every_hot_module_compiled() -> None:
    _compiled_build()
    for name in native.COMPILED:
        path = sys.modules[name].__file__ if name in sys.modules else None
        if path is None:
            __import__(name)
            path = sys.modules[name].__file__
        assert path is not None
        assert path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), (name, path)


def test_a_source_changed_after_the_build_runs_the_whole_set_as_python(tmp_path: Path) -> None:
    _compiled_build()
    root = _copy_of_the_build(tmp_path)
    compiled, files, _ = _probe(root)
    assert compiled and all(f.startswith(str(root)) and not f.endswith(".py") for f in files)

    edited = root / "sagaway" / "interpreter" / "run.py"
    edited.write_text(edited.read_text() + "\n# edited after the build\n")
    compiled, files, stderr = _probe(root)
    assert not compiled
    assert files == [str(native.source_path(m, root)) for m in native.COMPILED]
    assert "sources changed since the build (sagaway/interpreter/run.py)" in stderr


def test_a_missing_extension_runs_the_set_as_python(tmp_path: Path) -> None:
    _compiled_build()
    root = _copy_of_the_build(tmp_path)
    for built in (root / "sagaway" / "store").glob("rows.*.so"):
        built.unlink()
    compiled, files, _ = _probe(root)
    assert not compiled and all(f.endswith(".py") for f in files)


def test_a_build_of_another_set_runs_every_module_it_compiled_as_python(tmp_path: Path) -> None:
    # A checkout whose list of compiled modules changed since the install: the extension
    # of a module no longer in the list must not shadow its source either.
    _compiled_build()
    root = _copy_of_the_build(tmp_path)
    manifest = root / "sagaway" / native.MANIFEST
    recorded = json.loads(manifest.read_text())
    recorded["sources"]["sagaway.interpreter.failures"] = "0" * 64
    manifest.write_text(json.dumps(recorded))
    probe = PROBE + (
        "import sagaway.interpreter.failures as f; print(f.__file__)\n"
        "print(native.status().reason.replace(' ', '_'))\n"
    )
    compiled, (*files, failures, reason), _ = _probe(root, probe)
    assert not compiled and all(f.endswith(".py") for f in files)
    assert failures == str(root / "sagaway" / "interpreter" / "failures.py")
    assert reason.startswith("built_for_another_set")


def test_sagaway_pure_python_runs_the_sources() -> None:
    compiled, files, stderr = _probe(SRC, SAGAWAY_PURE_PYTHON="1")
    assert not compiled
    assert files == [str(native.source_path(m, SRC)) for m in native.COMPILED]
    assert stderr == ""  # asked for: nothing to warn about


def test_version_says_how_the_hot_modules_run() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "sagaway", "--version"],
        env={**os.environ, "SAGAWAY_PURE_PYTHON": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "sagaway 0.1.0, pure Python (SAGAWAY_PURE_PYTHON is set)"
    run = subprocess.run(
        [sys.executable, "-m", "sagaway", "--version"], capture_output=True, text=True, timeout=60
    )
    assert run.stdout.strip() == f"sagaway 0.1.0, {native.status().describe()}"


def test_every_compiled_module_has_its_source() -> None:
    for name in native.COMPILED:
        assert native.source_path(name).is_file(), name
