#include "data/idx.h"

#include <cstring>

#include "data/file_io.h"

namespace mpq::data {
namespace {

struct IdxType {
  uint8_t code;
  const char* name;
  size_t size;  // bytes per element in the file
  DType dtype;  // what mpq stores it as
};
constexpr IdxType kIdxTypes[] = {
    {0x08, "unsigned byte", 1, DType::u8}, {0x09, "signed byte", 1, DType::i8},
    {0x0B, "short", 2, DType::i32},        {0x0C, "int", 4, DType::i32},
    {0x0D, "float", 4, DType::f32},        {0x0E, "double", 8, DType::f32},
};

const IdxType* find_type(uint8_t code) {
  for (const auto& t : kIdxTypes)
    if (t.code == code) return &t;
  return nullptr;
}

uint64_t load_be(const unsigned char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

bool looks_like_idx(const std::string& b) {
  return b.size() >= 4 && b[0] == 0 && b[1] == 0 && find_type(static_cast<uint8_t>(b[2])) &&
         static_cast<uint8_t>(b[3]) >= 1;
}

Tensor parse_idx(const std::string& bytes, const std::string& name) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4 || p[0] != 0 || p[1] != 0)
    invalid_input("not an IDX file (the first two bytes must be zero)").file(name).raise();
  const IdxType* type = find_type(p[2]);
  if (!type)
    invalid_input(str("not an IDX file: unknown data type code 0x", std::hex, int(p[2]),
                      " (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)"))
        .file(name)
        .raise();
  const size_t rank = p[3];
  if (rank == 0) invalid_input("IDX header declares 0 dimensions").file(name).raise();
  const size_t header = 4 + 4 * rank;
  if (bytes.size() < header)
    invalid_input(str("truncated IDX header: ", rank, " dimensions need ", header,
                      " bytes, the file has ", bytes.size()))
        .file(name)
        .raise();
  Shape dims(rank);
  int64_t numel = 1;
  for (size_t i = 0; i < rank; ++i) {
    dims[i] = static_cast<int64_t>(load_be(p + 4 + 4 * i, 4));
    if (__builtin_mul_overflow(numel, dims[i], &numel) || numel > (int64_t{1} << 48))
      invalid_input(str("IDX header dims ", shape_str(dims), " are too large")).file(name).raise();
  }
  const size_t want = static_cast<size_t>(numel) * type->size;
  const size_t have = bytes.size() - header;
  if (have != want)
    invalid_input(str(have < want ? "truncated" : "oversized", " IDX file: header says ",
                      type->name, " ", shape_str(dims), " = ", want, " data bytes, the file holds ",
                      have))
        .file(name)
        .raise();
  Tensor t(type->dtype, dims);
  const unsigned char* src = p + header;
  if (type->size == 1) {
    if (want) std::memcpy(t.raw(), src, want);
  } else {
    for (int64_t i = 0; i < numel; ++i) {
      uint64_t v = load_be(src + i * type->size, type->size);
      if (type->code == 0x0B) {
        t.data<int32_t>()[i] = static_cast<int16_t>(v);
      } else if (type->code == 0x0C) {
        t.data<int32_t>()[i] = static_cast<int32_t>(static_cast<uint32_t>(v));
      } else if (type->code == 0x0D) {
        uint32_t u = static_cast<uint32_t>(v);
        std::memcpy(&t.data<float>()[i], &u, 4);
      } else {
        double d;
        std::memcpy(&d, &v, 8);
        t.data<float>()[i] = static_cast<float>(d);
      }
    }
  }
  return t;
}

Tensor read_idx(const std::string& path) {
  return parse_idx(read_file_maybe_gz(path, looks_like_idx, "an IDX file"), path);
}

}  // namespace mpq::data
