// Little-endian binary writer/reader for the engine file (runtime/engine_file.cc), and the fast
// 64-bit checksum that guards the whole file.
//
// The reader never trusts the bytes: every read is bounds-checked and every count is checked
// against the bytes left, so a malformed (or hostile) file gives a clear kInvalidInput naming the
// file and the field being read, never a crash or a huge allocation.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mpq::runtime {

// A 64-bit hash over a byte range, multiply-rotate over four 8-byte lanes (the xxHash64 scheme),
// ~10 GB/s, so checking a 45 MB engine costs a few ms. Any change of any byte changes the value
// with probability 1 - 2^-64.
uint64_t checksum64(const void* data, size_t n, uint64_t seed = 0);

class BinaryWriter {
 public:
  void u8(uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { raw(&v, 4); }  // x86-64 is little-endian, as the format is
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void f32(float v) { raw(&v, 4); }
  void f64(double v) { raw(&v, 8); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void text(std::string_view s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  void i64s(const std::vector<int64_t>& v) {
    u64(v.size());
    for (int64_t x : v) i64(x);
  }
  void raw(const void* p, size_t n) { buf_.append(static_cast<const char*>(p), n); }
  const std::string& bytes() const { return buf_; }
  std::string take() { return std::move(buf_); }

 private:
  std::string buf_;
};

class BinaryReader {
 public:
  // `file` names the source in errors; `what` is updated by the caller (see field()).
  BinaryReader(const char* data, size_t size, std::string file)
      : p_(data), end_(data + size), file_(std::move(file)) {}

  // Names the field being read, for errors ("graph.nodes[12].attrs").
  void field(std::string what) { what_ = std::move(what); }

  uint8_t u8() { return get<uint8_t>(); }
  uint32_t u32() { return get<uint32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  int64_t i64() { return get<int64_t>(); }
  float f32() { return get<float>(); }
  double f64() { return get<double>(); }
  bool boolean() {
    uint8_t v = u8();
    if (v > 1) fail(str("expected a boolean (0 or 1), found ", int(v)));
    return v == 1;
  }
  std::string text() {
    uint64_t n = count(1);
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  std::vector<int64_t> i64s() {
    uint64_t n = count(8);
    std::vector<int64_t> v(n);
    for (auto& x : v) x = i64();
    return v;
  }
  // A count of items each at least `min_item_bytes` long: rejects counts the remaining bytes
  // cannot hold (so a corrupted count cannot trigger a huge allocation).
  uint64_t count(size_t min_item_bytes) {
    uint64_t n = u64();
    if (min_item_bytes > 0 && n > remaining() / min_item_bytes)
      fail(str("count ", n, " exceeds the ", remaining(), " bytes left"));
    return n;
  }
  // An index into a table of `size` entries (or -1 when `allow_none`).
  int64_t index(uint64_t size, bool allow_none = false) {
    int64_t v = i64();
    if ((v == -1 && allow_none) || (v >= 0 && static_cast<uint64_t>(v) < size)) return v;
    fail(str("index ", v, " is outside 0..", size == 0 ? 0 : size - 1));
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool done() const { return p_ == end_; }

  [[noreturn]] void fail(const std::string& msg) const {
    invalid_input(str("malformed engine file (", what_.empty() ? "" : "in " + what_ + ": ", msg,
                      "); rebuild it with `mpq build`"))
        .file(file_)
        .raise();
  }

 private:
  template <typename T>
  T get() {
    if (remaining() < sizeof(T)) fail("unexpected end of data");
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }

  const char* p_;
  const char* end_;
  std::string file_;
  std::string what_;
};

}  // namespace mpq::runtime
