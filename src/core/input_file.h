// Bounded reads of the files a user names (models, tables, config lists, tensors, data): a path
// that is missing, a directory or a device (/dev/zero) is refused before anything is read, and no
// file larger than max_input_bytes() is read into memory.
#pragma once

#include <cstddef>
#include <string>

#include "core/limits.h"

namespace mpq {

// Checks that `path` names something mpq can read as a file: kNotFound when it does not exist,
// kInvalidInput for a directory or a device. `what` names the expected file ("model file").
void check_input_path(const std::string& path, const std::string& what);

// Reads the whole file after check_input_path. Pipes are read as streams; any file over
// `max_bytes` is kInvalidInput naming the file and the cap.
std::string read_input_file(const std::string& path, const std::string& what,
                            size_t max_bytes = max_input_bytes());

}  // namespace mpq
