// Internals shared by the engine file's writer (engine_file.cc) and reader (engine_file_read.cc):
// the magic bytes, alignment and little-endian field access. Not part of any public API.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

namespace mpq::runtime::detail {

constexpr char kMagic[8] = {'M', 'P', 'Q', 'E', '\r', '\n', '\x1a', '\n'};
constexpr char kEndMagic[8] = {'M', 'P', 'Q', 'E', 'E', 'N', 'D', '\n'};
constexpr size_t kAlign = 64;

inline size_t align_up(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

inline std::string hex64(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "c64:%016llx", static_cast<unsigned long long>(v));
  return b;
}

inline double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

inline void put64(std::string& s, size_t at, uint64_t v) {
  std::memcpy(&s[at], &v, 8);
}
inline void put32(std::string& s, size_t at, uint32_t v) {
  std::memcpy(&s[at], &v, 4);
}
inline uint64_t get64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t get32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace mpq::runtime::detail
