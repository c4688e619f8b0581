"""Every script in examples/ runs to its end (each checks its own results
with asserts), so the examples cannot rot."""
import os
import pathlib
import subprocess
import sys

import pytest

from kreg_package import kreg  # noqa: F401  (skips, saying why, when kreg is not installed)

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("s*.py"))
FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")
NEEDS_IMAGES = {"s4_1_inference.py", "s4_4_augmentation.py"}


def test_every_section_has_a_script():
    assert [p.name for p in EXAMPLES] == [
        "s1_compute_environment.py", "s3_nadaraya_watson.py", "s4_1_inference.py",
        "s4_2_tuning.py", "s4_3_cross_validation.py", "s4_4_augmentation.py"]
    readme = (ROOT / "examples" / "README.md").read_text()
    assert all(p.name in readme for p in EXAMPLES)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    if script.name in NEEDS_IMAGES and not (FASHION / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"{FASHION} is missing (Debian's dataset-fashion-mnist; scripts/bootstrap)")
    # Run from elsewhere: the scripts must not depend on the working directory.
    proc = subprocess.run([sys.executable, script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300, env={**os.environ, "PYTHONWARNINGS": "error"})
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{script.name} printed nothing"
