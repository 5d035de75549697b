// IDX files (the MNIST / Fashion-MNIST format), gzipped or not: a big-endian header
// (0x00 0x00 <type code> <rank>, then rank u32 dims) followed by big-endian data.
#pragma once

#include <string>

#include "core/tensor.h"

namespace mpq::data {

// Reads an IDX file. u8, i8, i32 and f32 keep their type; i16 widens to i32 and f64 narrows to
// f32 (mpq has no such dtypes). A wrong magic, an unknown type code or a header whose dims do not
// match the file size is kInvalidInput naming the file.
Tensor read_idx(const std::string& path);
Tensor parse_idx(const std::string& bytes, const std::string& name);

// True if `bytes` start like an IDX file (used to tell IDX from NPY by content).
bool looks_like_idx(const std::string& bytes);

}  // namespace mpq::data
