"""Building kreg (pip install ., cmake) on a machine without its libraries
stops with a message that says what is missing and to run scripts/bootstrap,
not CMake's bare "Could not find ..."."""
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def configure(tmp_path, *defines, env=None):
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not on PATH (scripts/bootstrap installs it)")
    return subprocess.run(
        [cmake, "-S", ROOT, "-B", tmp_path / "build", "-DKREG_TESTS=OFF", "-DKREG_BENCH=OFF",
         *defines],
        capture_output=True, text=True, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("package, debian", [("TBB", "libtbb-dev"), ("hwy", "libhwy-dev"),
                                             ("CLI11", "libcli11-dev")])
def test_missing_library_names_bootstrap(tmp_path, package, debian):
    # CMAKE_DISABLE_FIND_PACKAGE_<name> makes find_package behave as on a
    # machine without the library.
    proc = configure(tmp_path, f"-DCMAKE_DISABLE_FIND_PACKAGE_{package}=ON")
    assert proc.returncode != 0
    text = " ".join(proc.stderr.split())  # CMake wraps long messages
    assert f"kreg needs {package}, which this machine lacks (Debian package: {debian})" in text
    assert "Run scripts/bootstrap from kreg's source directory" in text


def test_missing_pkg_config_library_names_bootstrap(tmp_path):
    empty = tmp_path / "no-pc-files"
    empty.mkdir()
    proc = configure(tmp_path, env={"PKG_CONFIG_LIBDIR": str(empty), "PKG_CONFIG_PATH": ""})
    assert proc.returncode != 0
    text = " ".join(proc.stderr.split())
    assert "kreg needs liblbfgs, which this machine lacks (Debian package: liblbfgs-dev)" in text
    assert "scripts/bootstrap" in text
