"""Builds mpq's extension module (mpq._mpq) with the project's CMake (python/CMakeLists.txt) for
`pip install .`; pyproject.toml holds the package's metadata. MPQ_JOBS sets the parallel jobs,
MPQ_CMAKE_ARGS adds CMake options (e.g. -DMPQ_CUDA=ON)."""

import os
import shlex
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        # A folder next to the checkout's build/, so that ccache (used when installed) finds the
        # objects of scripts/build.sh: paths relative to CCACHE_BASEDIR are then the same.
        build_dir = os.path.join(ROOT, "build-python")
        configure = [
            "cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython3_EXECUTABLE={sys.executable}", "-DMPQ_PYTHON=ON", "-DMPQ_TESTS=OFF",
            "-DMPQ_EXAMPLES=OFF", "-DMPQ_BENCH=OFF", "-DMPQ_INSTALL=OFF"
        ] + shlex.split(os.environ.get("MPQ_CMAKE_ARGS", ""))
        if shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        jobs = os.environ.get("MPQ_JOBS", str(os.cpu_count() or 1))
        os.environ.setdefault("CCACHE_BASEDIR", ROOT)
        subprocess.check_call(configure)
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "_mpq", "-j", jobs])
        built = os.path.join(build_dir, "python", "mpq", os.path.basename(
            self.get_ext_filename(ext.name)))
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built, target)


setup(ext_modules=[CMakeExtension("mpq._mpq")], cmdclass={"build_ext": CMakeBuild},
      options={"build": {"build_base": "build-python/setuptools"}})
