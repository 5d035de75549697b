// NumPy .npy files (format versions 1.0, 2.0 and 3.0): little-endian f32, f16, u8, i8, i32, i64
// and bool in C order. Everything in a header is checked against the file size; a lying or
// unsupported header is kInvalidInput naming the file and the header key.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace mpq::data {

// Reads a .npy file (or a gzipped one: .npy.gz). Rejects fortran_order=True, big-endian data and
// dtypes mpq has no type for, with a message that says how to convert the array.
Tensor read_npy(const std::string& path);
// Parses .npy bytes already in memory; `name` is used in messages.
Tensor parse_npy(const std::string& bytes, const std::string& name);
// True if `bytes` start with the .npy magic.
bool looks_like_npy(const std::string& bytes);

// Writes a tensor as .npy (version 1.0, or 2.0 when the header needs it), through a temporary file
// renamed into place. bf16 has no NumPy dtype and is refused (cast to f32 first).
void write_npy(const std::string& path, const Tensor& t);
// Writes tensor i to paths[i] for every i, all or nothing (core/staged_outputs.h).
void write_npy_files(const std::vector<std::string>& paths, const std::vector<Tensor>& tensors);
// The bytes write_npy would write.
std::string encode_npy(const Tensor& t);

}  // namespace mpq::data
