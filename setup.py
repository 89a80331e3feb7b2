"""Builds the xclip Python package: the pybind11 module comes from the CMake project (the
same sources as the C++ library), the rest is python/xclip.

    python3 -m venv --system-site-packages ENV && ENV/bin/pip install --no-build-isolation .

XCLIP_CMAKE_BUILD_DIR=DIR reuses an already configured CMake build folder (only the _xclip
target is built there); otherwise a Release build is configured in build-python/.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def library_version():
    """The version the C++ library reports (include/xclip/version.h), so the wheel, the
    CMake package and xclip.__version__ agree."""
    text = (ROOT / "include" / "xclip" / "version.h").read_text()
    match = re.search(r'#define XCLIP_VERSION_STRING "([0-9][0-9A-Za-z.+-]*)"', text)
    if not match:
        raise RuntimeError("include/xclip/version.h defines no XCLIP_VERSION_STRING")
    return match.group(1)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        reuse = os.environ.get("XCLIP_CMAKE_BUILD_DIR")
        build_dir = Path(reuse) if reuse else ROOT / "build-python"
        if not reuse:
            subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                            "-DXCLIP_BUILD_TESTS=OFF", "-DXCLIP_BUILD_BENCH=OFF", "-DXCLIP_BUILD_CLI=OFF",
                            "-DXCLIP_BUILD_PYTHON=ON", f"-DPython3_EXECUTABLE={sys.executable}"], check=True)
        jobs = str(os.cpu_count() or 1)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_xclip", "-j", jobs], check=True)
        built = list((build_dir / "python" / "xclip").glob("_xclip*.so"))
        if len(built) != 1:
            raise RuntimeError(f"expected one _xclip module in {build_dir}/python/xclip, found {built}")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    version=library_version(),
    ext_modules=[CMakeExtension("xclip._xclip")],
    cmdclass={"build_ext": CMakeBuild},
    # setuptools' scratch folder, away from the CMake build/ folder.
    options={"build": {"build_base": "build-python/setuptools"}, "egg_info": {"egg_base": "build-python"}},
)
