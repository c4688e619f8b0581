"""Shared fixtures: where the kreg tool and the test probe are.

`make test` sets KREG_BIN and KREG_PROBE to the build's binaries; run by hand
with e.g. KREG_BIN=build/release/kreg KREG_PROBE=build/release/kreg_probe.
"""
import os
import subprocess

import pytest


def _binary(var):
    path = os.environ.get(var)
    if not path or not os.access(path, os.X_OK):
        pytest.skip(f"{var} is not set to an executable (run the tests through `make test`)")
    return path


@pytest.fixture(scope="session")
def kreg_bin():
    return _binary("KREG_BIN")


@pytest.fixture(scope="session")
def probe_bin():
    return _binary("KREG_PROBE")


@pytest.fixture(scope="session")
def kreg(kreg_bin):
    """Runs `kreg ARGS...`, returning the CompletedProcess (text mode)."""

    def run(*args, check=True):
        proc = subprocess.run([kreg_bin, *map(str, args)], capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"kreg {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                                 f"{proc.stderr}")
        return proc

    return run
