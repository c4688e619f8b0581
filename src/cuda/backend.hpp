// cuda/backend.hpp - the CUDA engine behind kreg's backend seam
// (nw/backend.hpp); registry.cpp puts it first when kreg is built with it.
#pragma once

#include "nw/backend.hpp"

namespace kreg::nw {

// The "cuda" backend: supports() says no, with the reason, when there is no
// usable CUDA device, so that auto falls through to the CPU engines.
const Backend* cuda_backend();

// For tests: queries per chunk of a predict (0: the default, 65536), so a
// small predict streams through several chunks. Results do not depend on it.
void set_cuda_query_chunk(index_t queries);

}  // namespace kreg::nw
