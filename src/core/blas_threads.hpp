// core/blas_threads.hpp - OpenBLAS kept single-threaded while kreg's own
// threads run BLAS calls, so n_jobs threads never each start OpenBLAS's pool
// (oversubscription). kreg uses no OpenMP.
#pragma once

namespace kreg::detail {

// While any guard is alive, OpenBLAS runs on one thread; the count from
// before the first guard comes back when the last one ends (also on
// exceptions). Reference counted and process-wide, like the setting itself,
// so guards may nest and overlap on different threads (parallel loops, the
// vectorized engine, both at once).
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
};

}  // namespace kreg::detail
