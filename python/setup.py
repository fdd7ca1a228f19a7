"""Builds the Swift library (the HashIdxC product of the package one directory up) and puts
libHashIdxC beside the Python modules, so that `pip install ./python` needs nothing but a
Swift toolchain (swift.org, 6.1 or newer) and the system libraries the README names.

HASHIDX_LIBRARY=/path/to/libHashIdxC.so skips the Swift build and packages that file instead.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIBRARY = "libHashIdxC.dylib" if sys.platform == "darwin" else "libHashIdxC.so"


def swift_library() -> Path:
    """The shared library to package: HASHIDX_LIBRARY, else a fresh release build."""
    given = os.environ.get("HASHIDX_LIBRARY")
    if given:
        path = Path(given)
        if not path.is_file():
            sys.exit(f"hashidx: HASHIDX_LIBRARY={given} is not a file")
        return path
    if not (ROOT / "Package.swift").is_file():
        sys.exit(f"hashidx: no Package.swift in {ROOT}; install from a checkout of the hashidx repository "
                 "(pip install ./python), or set HASHIDX_LIBRARY to a built libHashIdxC")
    if shutil.which("swift") is None:
        sys.exit("hashidx: building the Python package needs the Swift toolchain (`swift` on PATH, 6.1 or newer)")
    command = ["swift", "build", "-c", "release", "--product", "HashIdxC", "--package-path", str(ROOT)]
    print("hashidx: " + " ".join(command), flush=True)
    subprocess.run(command, check=True)
    binaries = subprocess.run(command[:-2] + ["--package-path", str(ROOT), "--show-bin-path"], check=True,
                              capture_output=True, text=True).stdout.strip()
    return Path(binaries) / LIBRARY


class BuildWithSwift(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "hashidx"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(swift_library(), target / LIBRARY)
        header = ROOT / "Sources" / "CHashIdxABI" / "include" / "hashidx.h"
        if header.is_file():
            shutil.copy2(header, target / "hashidx.h")


class BinaryDistribution(Distribution):
    """A platform wheel: the package carries a compiled library."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildWithSwift}, distclass=BinaryDistribution)
