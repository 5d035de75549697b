// Whole-file reads (with transparent gzip) and crash-safe writes (temp file + rename), shared by
// the NPY and IDX readers and anything else that writes user-visible output files.
#pragma once

#include <cstddef>
#include <functional>
#include <ostream>
#include <string>

#include "core/limits.h"

namespace mpq::data {

// Reads a file into memory (read_input_file: bounded, no directories or devices). Throws
// kNotFound when it does not exist, kInvalidInput when it cannot be read.
std::string read_file(const std::string& path);

// Whether the first bytes of a file's content (up to kHeadBytes) start the expected format.
using HeadCheck = std::function<bool(const std::string& head)>;
constexpr size_t kHeadBytes = 16;

// Reads a file; if it starts with the gzip magic (1f 8b) it is inflated (concatenated members
// included). A truncated or corrupt gzip stream is kInvalidInput naming the file. The inflated
// stream's first bytes must pass `head_ok` (naming the format as `expected`) before the rest is
// inflated, and `max_bytes` bounds the inflated size, so a hostile archive cannot exhaust memory.
std::string read_file_maybe_gz(const std::string& path, const HeadCheck& head_ok,
                               const std::string& expected, size_t max_bytes = max_input_bytes());
// The same on bytes already read (`path` names them in messages): returned as they are unless
// they start with the gzip magic.
std::string inflate_maybe_gz(std::string raw, const std::string& path, const HeadCheck& head_ok,
                             const std::string& expected, size_t max_bytes = max_input_bytes());

// Checks, before any work starts, that `path` can be written: not a directory, in a folder that
// exists and is writable. Throws kInvalidInput naming the file (what write_file_atomic would
// find only at the end).
void check_output_path(const std::string& path);

// Writes `path` by calling `write` on a temporary file next to it and renaming it over `path` only
// when everything was written: a failure never leaves a partial file behind. Throws kInvalidInput
// naming the file when it cannot be created or written.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace mpq::data
