#include "frontend/onnx/utf8_names.h"

#include <cstdint>
#include <cstdio>

#include "core/printable.h"
#include "core/status.h"

namespace mpq::onnx_io {

namespace {

void check(std::string_view name, const char* what, const std::string& file) {
  if (is_valid_utf8(name)) return;
  invalid_input(str(what, " '", printable(name),
                    "' is not valid UTF-8 (ONNX names are UTF-8 strings): re-export the model or "
                    "fix the name"))
      .file(file)
      .raise();
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : 9;
    if (n == 9 || i + n >= s.size()) return false;  // a bad lead byte, or a truncated sequence
    uint32_t cp = n == 0 ? c : c & (0x3f >> n);
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 0x2) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    static const uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += n + 1;
  }
  return true;
}

void check_utf8_names(const onnx::GraphProto& g, const std::string& file) {
  check(g.name(), "graph name", file);
  for (const auto& v : g.input()) check(v.name(), "graph input", file);
  for (const auto& v : g.output()) check(v.name(), "graph output", file);
  for (const auto& v : g.value_info()) check(v.name(), "value", file);
  for (const auto& t : g.initializer()) check(t.name(), "initializer", file);
  for (const auto& n : g.node()) {
    check(n.name(), "node name", file);
    check(n.op_type(), "op_type", file);
    check(n.domain(), "domain", file);
    for (const auto& v : n.input()) check(v, "node input", file);
    for (const auto& v : n.output()) check(v, "node output", file);
    for (const auto& a : n.attribute()) check(a.name(), "attribute name", file);
  }
}

}  // namespace mpq::onnx_io
