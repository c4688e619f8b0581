"""The `kreg` command pip installs, and `python -m kreg`: both run the kreg
tool (the C++ binary the wheel carries in kreg/bin/), with the same options,
output and exit codes as a kreg built from source.

The launcher replaces its own process with the binary (os.execv): signals
(Ctrl-C), standard streams and the exit status are the tool's own, and no
Python stays in between.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["binary", "main"]


def binary() -> Path:
    """The path of the kreg tool inside the installed package."""
    return Path(__file__).resolve().parent / "bin" / "kreg"


def main(argv: list[str] | None = None) -> int:
    """Runs `kreg ARGV...` in this process's place; returns only on failure."""
    args = sys.argv[1:] if argv is None else list(argv)
    path = binary()
    if not os.access(path, os.X_OK):
        print(
            f"kreg: error: the kreg tool is missing from this installation ({path}); "
            f"reinstall the package: python -m pip install --force-reinstall kreg",
            file=sys.stderr,
        )
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(path, ["kreg", *args])
    return 1  # not reached: execv returns only by raising OSError


if __name__ == "__main__":
    sys.exit(main())
