"""The wheel `make wheel` builds works where kreg's Debian libraries are not:
installed into a brand-new virtualenv, its extension and its kreg tool load
only the libraries the wheel carries (kreg.libs/) and the manylinux set
(glibc, libstdc++, libgcc_s, zlib), with LD_LIBRARY_PATH empty; kreg imports,
fits and predicts the tutorial's data, and the `kreg` command runs.

Run by `make test` and `make test-wheel` (both build the wheel first, from
pip install's incremental build, and set KREG_WHEEL_DIR); pytest run by hand
without KREG_WHEEL_DIR skips it, saying so."""
import json
import os
import pathlib
import re
import subprocess
import sys
import sysconfig
import zipfile

import pytest

WHEEL_DIR = os.environ.get("KREG_WHEEL_DIR")
if not WHEEL_DIR:
    pytest.skip("KREG_WHEEL_DIR is not set: `make test` or `make test-wheel` builds the wheel "
                "and runs this",
                allow_module_level=True)

# What a manylinux wheel may take from the system (PEP 600's policies for glibc 2.35).
SYSTEM = ("linux-vdso.so", "ld-linux-x86-64.so", "libc.so", "libm.so", "libdl.so", "librt.so",
          "libpthread.so", "libstdc++.so", "libgcc_s.so", "libz.so")


@pytest.fixture(scope="module")
def wheel():
    wheels = sorted(pathlib.Path(WHEEL_DIR).glob("kreg-*.whl"))
    assert len(wheels) == 1, f"expected one kreg wheel in {WHEEL_DIR}, found {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A new virtualenv with the wheel installed (no index: nothing is downloaded).
    Its dependencies (numpy, scikit-learn, ...) come from this interpreter's
    site-packages through a .pth file, added after the venv's own packages, so
    `import kreg` finds the wheel's kreg, not the one installed here."""
    root = tmp_path_factory.mktemp("wheel") / "venv"
    subprocess.run([sys.executable, "-m", "venv", root], check=True)
    py = root / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel],
                   check=True)
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (pathlib.Path(site) / "deps-from-test.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return root


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "PYTHON"))}
    env["LD_LIBRARY_PATH"] = ""
    return env


def test_wheel_is_tagged_manylinux(wheel):
    assert re.search(r"-manylinux_2_\d+_x86_64\.whl$", wheel.name), wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert "kreg/bin/kreg" in names
    assert any(n.startswith("kreg.libs/libtbb") for n in names)
    assert any(n.endswith("licenses/LICENSE") for n in names)


def resolved(path):
    """ldd's name => path pairs of an ELF file."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True, env=clean_env(),
                         check=True).stdout
    pairs = []
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
        if m:
            pairs.append((m.group(1), m.group(2)))
        elif line.strip():
            pairs.append((line.split()[0], line.split()[0]))
    return pairs


def test_only_the_wheels_libraries_are_loaded(venv):
    package = next(venv.glob("lib/python*/site-packages/kreg"))
    libs = package.parent / "kreg.libs"
    for elf in [*package.glob("_kreg*.so"), package / "bin" / "kreg"]:
        pairs = resolved(elf)
        assert pairs, f"ldd printed nothing for {elf}"
        for name, path in pairs:
            if "not found" in path:
                pytest.fail(f"{elf.name}: {name} not found")
            if pathlib.Path(path).name.startswith(SYSTEM) or name.startswith(SYSTEM):
                continue
            assert pathlib.Path(path).resolve().parent == libs.resolve(), (
                f"{elf.name} loads {name} from {path}, outside the wheel")
        # The libraries kreg builds against come from the wheel, under mangled names.
        from_wheel = [name for name, path in pairs
                      if pathlib.Path(path).resolve().parent == libs.resolve()]
        assert any("libtbb" in n for n in from_wheel), pairs
        assert any("libopenblas" in n for n in from_wheel), pairs


TUTORIAL = """
import json, kreg, numpy as np
from sklearn.model_selection import train_test_split
X, y = kreg.generate_data(10000, 10, seed=123)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
model = kreg.NadarayaWatsonRegressor(bandwidth=0.5).fit(X_train, y_train)
print(json.dumps({"file": kreg.__file__, "version": kreg.__version__,
                  "r2": model.score(X_test, y_test)}))
"""


def test_import_fit_predict_in_a_new_venv(venv):
    proc = subprocess.run([venv / "bin" / "python", "-c", TUTORIAL], capture_output=True,
                          text=True, env=clean_env(), cwd=venv)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["file"].startswith(str(venv)), out["file"]  # the wheel's kreg, not this one
    assert out["r2"] == pytest.approx(0.7880181382483, abs=1e-9)  # the tutorial's number


def test_kreg_command_in_a_new_venv(venv, tmp_path):
    kreg = venv / "bin" / "kreg"
    env = clean_env()
    proc = subprocess.run([kreg, "--version"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("kreg "), proc.stderr
    subprocess.run([kreg, "generate", "--out-dir", tmp_path], capture_output=True, env=env,
                   check=True)
    proc = subprocess.run([kreg, "predict", "--train", tmp_path / "train.csv", "--target", "y",
                           "--query", tmp_path / "test.csv", "--bandwidth", "0.5", "--out",
                           tmp_path / "p.csv"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "R^2: 0.788018" in proc.stderr
    man = venv / "share" / "man" / "man1" / "kreg.1"
    assert man.is_file(), "the wheel installs no man page"
    assert "kreg predict" in man.read_text()
