// Whole-file reads (with transparent gzip) and crash-safe writes (temp file + rename), shared by
// the NPY and IDX readers and anything else that writes user-visible output files.
#pragma once

#include <cstddef>
#include <functional>
#include <ostream>
#include <string>

namespace mpq::data {

// Reads a file into memory. Throws kNotFound when it does not exist, kInvalidInput when it is a
// directory or cannot be read.
std::string read_file(const std::string& path);

// Reads a file; if it starts with the gzip magic (1f 8b) it is inflated (concatenated members
// included). A truncated or corrupt gzip stream is kInvalidInput naming the file. `max_bytes`
// bounds the inflated size so a hostile archive cannot exhaust memory.
std::string read_file_maybe_gz(const std::string& path, size_t max_bytes = size_t{8} << 30);

// Writes `path` by calling `write` on a temporary file next to it and renaming it over `path` only
// when everything was written: a failure never leaves a partial file behind. Throws kInvalidInput
// naming the file when it cannot be created or written.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace mpq::data
