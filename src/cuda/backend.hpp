// cuda/backend.hpp - the CUDA engine behind kreg's backend seam
// (nw/backend.hpp); registry.cpp puts it first when kreg is built with it.
#pragma once

#include "nw/backend.hpp"

namespace kreg::nw {

// The "cuda" backend: supports() says no, with the reason, when there is no
// usable CUDA device, so that auto falls through to the CPU engines.
const Backend* cuda_backend();

}  // namespace kreg::nw
