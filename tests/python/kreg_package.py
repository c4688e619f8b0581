"""The installed kreg package for the test_package_* files:

    from kreg_package import kreg

Only a missing kreg skips the importing test module (with the reason printed);
a kreg that is installed but broken fails loudly. `make test` installs it."""
import pytest

try:
    import kreg
except ModuleNotFoundError as e:
    if e.name != "kreg":
        raise
    pytest.skip(
        "the kreg package is not installed (make test installs it: "
        ".venv/bin/python -m pip install --no-build-isolation .)",
        allow_module_level=True,
    )

__all__ = ["kreg"]
