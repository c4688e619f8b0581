# kreg_require(<package> <debian-package> [find_package arguments...]): find_package
# that, when the package is missing, stops with a message naming the Debian
# package and scripts/bootstrap (which installs every one of them), instead of
# CMake's bare "Could not find a package configuration file ...". A user who
# runs `pip install .` on a machine without them reads what to do.
# kreg_missing(<what> <debian-package>) stops with that message (for
# libraries found another way, such as pkg-config).
function(kreg_missing what debian)
  message(FATAL_ERROR
    "kreg needs ${what}, which this machine lacks (Debian package: ${debian}).\n"
    "Run scripts/bootstrap from kreg's source directory: it installs every library kreg "
    "builds against (apt-get) and the Python build tools (.venv). Or install ${debian} "
    "yourself, or use a kreg wheel built by `make wheel`, which carries its libraries.")
endfunction()

macro(kreg_require package debian)
  find_package(${package} ${ARGN} QUIET)
  if(NOT ${package}_FOUND)
    kreg_missing(${package} ${debian})
  endif()
endmacro()
