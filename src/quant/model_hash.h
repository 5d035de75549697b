// Stable content hashes for the calibration cache and for "this table belongs to this model"
// checks: FNV-1a 64 over a canonical byte stream (little-endian integers, length-prefixed
// strings), so the same model or data gives the same hash on every run and machine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ir/graph.h"

namespace mpq::quant {

class Fnv1a64 {
 public:
  void bytes(const void* data, size_t n);
  void u64(uint64_t v);
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void f64(double v);
  void string(std::string_view s);  // length-prefixed
  uint64_t value() const { return h_; }
  std::string hex() const;  // "fnv1a64:0123456789abcdef"

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

// Hash of the float graph: inputs (name, dtype, shape), nodes in order (op, name, module path,
// attributes, input/output names), constants (name, dtype, shape, bytes) and outputs.
std::string model_hash(const Graph& g);

}  // namespace mpq::quant
