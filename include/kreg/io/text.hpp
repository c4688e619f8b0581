// kreg/io/text.hpp - writing result files (JSON, CSV, SVG) atomically.
#pragma once

#include <string>
#include <string_view>

namespace kreg::io {

// Writes `text` to a temporary name beside `path` and renames it over `path`,
// so nobody ever sees a half-written result file, and a failed run leaves no
// partial file that looks complete. A symbolic link is followed (its target
// is replaced, the link stays); a device, a FIFO or /dev/stdout is written
// to directly, never replaced. Throws kreg::Error naming the path and the
// system's reason.
void write_text_atomic(const std::string& path, std::string_view text);

}  // namespace kreg::io
