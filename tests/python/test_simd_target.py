"""KREG_SIMD_TARGET and OPENBLAS_CORETYPE through the kreg binary: `kreg info`
reports the SIMD target and OpenBLAS core in use and whether a variable forced
them; a SIMD target kreg cannot use is refused with the valid names."""
import json
import os
import subprocess

import pytest


def run(kreg_bin, *args, **env):
    forced = ("KREG_SIMD_TARGET", "OPENBLAS_CORETYPE")
    environ = {k: v for k, v in os.environ.items() if k not in forced}
    environ.update(env)
    return subprocess.run([kreg_bin, *args], capture_output=True, text=True, env=environ)


def info(kreg_bin, **env):
    proc = run(kreg_bin, "info", "--json", **env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_lower_target_is_used_and_reported(kreg_bin):
    best = info(kreg_bin)
    supported = best["simd"]["supported"]
    assert best["simd"]["active"] == supported[0] and best["simd"]["forced_by"] is None
    if len(supported) < 2:
        pytest.skip(f"this CPU runs only the SIMD target {supported[0]}; there is no lower one")
    lower = supported[1]
    got = info(kreg_bin, KREG_SIMD_TARGET=lower.lower())  # any case
    assert got["simd"]["active"] == lower
    assert got["simd"]["forced_by"] == f"KREG_SIMD_TARGET={lower.lower()}"
    assert got["simd"]["supported"] == supported  # what the CPU runs, not what is allowed
    text = run(kreg_bin, "info", KREG_SIMD_TARGET=lower).stdout
    assert (f"SIMD in use:    {lower} (forced by KREG_SIMD_TARGET={lower}; the best this CPU "
            f"supports is {supported[0]})") in text


def test_an_unknown_target_is_refused_with_the_valid_names(kreg_bin):
    supported = info(kreg_bin)["simd"]["supported"]
    proc = run(kreg_bin, "info", KREG_SIMD_TARGET="avx9")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        f"kreg: error: KREG_SIMD_TARGET=avx9 is not a SIMD target name; set KREG_SIMD_TARGET to "
        f"one of {', '.join(supported)} (the targets this kreg carries and this CPU runs), or "
        f"unset it to use the best, {supported[0]}\n")


def test_a_bad_target_stops_a_command_before_it_writes_anything(kreg_bin, tmp_path):
    assert run(kreg_bin, "generate", "--n", "60", "--d", "2", "--out-dir", tmp_path).returncode == 0
    out = tmp_path / "r.json"
    proc = run(kreg_bin, "tune", "--train", str(tmp_path / "train.csv"), "--target", "y", "--cv",
               "3", "--bandwidths", "0.5,1", "--out", str(out), KREG_SIMD_TARGET="avx9")
    assert proc.returncode == 1
    assert proc.stderr.startswith("kreg: error: KREG_SIMD_TARGET=avx9 is not a SIMD target name")
    assert proc.stdout == ""  # not even the run's summary line
    assert not out.exists() and not (tmp_path / "r.json.journal").exists()
    # Help needs no SIMD target.
    assert run(kreg_bin, "tune", "--help", KREG_SIMD_TARGET="avx9").returncode == 0


def test_the_openblas_core_type_is_reported(kreg_bin):
    detected = info(kreg_bin)["blas"]
    assert detected["core_forced_by"] is None
    assert f"core {detected['core']}" in detected["library"]
    core = "Nehalem" if detected["core"] == "Prescott" else "Prescott"  # SSE3: any x86-64
    forced = info(kreg_bin, OPENBLAS_CORETYPE=core)["blas"]
    assert forced["core"] == core and forced["core_forced_by"] == f"OPENBLAS_CORETYPE={core}"
    assert f"BLAS core:      {core} (forced by OPENBLAS_CORETYPE={core})" in run(
        kreg_bin, "info", OPENBLAS_CORETYPE=core).stdout
    # OpenBLAS ignores a name it does not know; kreg says so.
    ignored = info(kreg_bin, OPENBLAS_CORETYPE="NoSuchCore")["blas"]
    assert ignored["core"] == detected["core"] and ignored["core_forced_by"] is None
    text = run(kreg_bin, "info", OPENBLAS_CORETYPE="NoSuchCore").stdout
    assert (f"BLAS core:      {detected['core']} (OpenBLAS did not use "
            f"OPENBLAS_CORETYPE=NoSuchCore)") in text
