// core/blas_threads.cpp - the one OpenBLAS thread-count guard.
#include "core/blas_threads.hpp"

#include "kreg/system.hpp"

#include <mutex>

extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
// OpenBLAS's own pool shutdown (also its fork handler); its next threaded
// call starts the pool again.
int blas_thread_shutdown_(void);
}

namespace kreg::detail {

namespace {
std::mutex g_mutex;
int g_active = 0;  // live guards
int g_saved = 1;   // OpenBLAS's thread count before the first
}  // namespace

SingleThreadedBlas::SingleThreadedBlas() {
  const std::lock_guard lock(g_mutex);
  if (g_active++ == 0) {
    g_saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
  }
}

SingleThreadedBlas::~SingleThreadedBlas() {
  const std::lock_guard lock(g_mutex);
  if (--g_active == 0) openblas_set_num_threads(g_saved);
}

}  // namespace kreg::detail

namespace kreg {
void park_blas_threads() { blas_thread_shutdown_(); }
}  // namespace kreg
