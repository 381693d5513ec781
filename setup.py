"""Build: the modules of sagaway.native.COMPILED are compiled to C with mypyc (the metadata
is in pyproject.toml).

They run about a fifth faster compiled (docs/benchmarks.md, "mypyc"). Without mypyc (a
build requirement, so normally at hand) or a C compiler, or with SAGAWAY_PURE_PYTHON=1, the
package is built as pure Python and works the same, slower; `sagaway --version` says which.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Any

from setuptools import setup

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"


def _native() -> Any:
    # The list lives in the package (the runtime guard reads it too); load that one file
    # without importing the package, whose dependencies may not be installed yet.
    import importlib.util

    spec = importlib.util.spec_from_file_location("_sagaway_native", SRC / "sagaway" / "native.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


def _pure_reason(native: Any) -> str | None:
    if os.environ.get(native.PURE_ENV, "") not in ("", "0"):
        return f"{native.PURE_ENV} is set"
    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler})"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.is_file():  # Debian's python3 without python3-dev
        return f"no Python headers ({headers})"
    try:
        import mypyc.build  # noqa: F401
    except ImportError:
        return "mypyc is not installed"
    return None


def ext_modules() -> list[Any]:
    native = _native()
    _remove_earlier_builds()
    reason = _pure_reason(native)
    if reason is not None:
        return _pure(native, reason)
    import mypy.version
    from mypyc.build import mypycify

    # Not pyproject's strict settings (CI checks those): the dependencies are not installed
    # in the build environment, and mypyc sees what it cannot find as Any.
    options = ["--config-file", os.devnull, "--ignore-missing-imports"]
    paths = [str(native.source_path(m, Path("src"))) for m in native.COMPILED]
    try:
        extensions = mypycify(options + paths, opt_level="3", debug_level="1")
    except (Exception, SystemExit) as exc:  # mypy's errors end in SystemExit: build Python
        return _pure(native, f"mypyc failed ({exc!r})")
    native.write_manifest(SRC, f"mypyc {mypy.version.__version__}")
    return list(extensions)


def _pure(native: Any, reason: str) -> list[Any]:
    print(f"sagaway: building pure Python: {reason}", file=sys.stderr)
    native.remove_manifest(SRC)  # the guard then reads the build as "not built"
    return []


def _remove_earlier_builds() -> None:
    # An editable install builds into the source tree: a module an earlier build compiled
    # and this one does not (the set changed, or this build is pure Python) must not shadow
    # its source, nor the library the compiled modules share outlive them.
    for pattern in ("sagaway/**/*.so", "sagaway/**/*.pyd", "*__mypyc.*"):
        for path in SRC.glob(pattern):
            path.unlink()


os.chdir(HERE)  # mypycify takes the paths and pyproject.toml's [tool.mypy] from here
setup(ext_modules=ext_modules())
