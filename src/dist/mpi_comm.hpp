// dist/mpi_comm.hpp - the entry points of kreg's MPI plugin (libkreg_mpi.so,
// dist/mpi_comm.cpp, built with KREG_MPI). The kreg tool loads the plugin,
// and with it libmpi, only when an MPI launcher started it: linking libmpi
// into the tool would make every plain start load MPI's libraries too.
#pragma once

#include "dist/communicator.hpp"

extern "C" {
// MPI_Init_thread (funneled: only the main thread calls MPI) and a
// communicator over MPI_COMM_WORLD, owned by the caller; nullptr with a
// message in `error` (of `size` bytes) when MPI cannot start.
kreg::dist::Communicator* kreg_mpi_start(int* argc, char*** argv, char* error, int size);
// MPI_Finalize.
void kreg_mpi_stop();
}

// The plugin's file name, beside the kreg tool or in LIBDIR/kreg/.
#define KREG_MPI_PLUGIN "libkreg_mpi.so"
