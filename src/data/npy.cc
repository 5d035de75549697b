#include "data/npy.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <optional>

#include "core/printable.h"
#include "core/staged_outputs.h"
#include "data/file_io.h"

namespace mpq::data {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

// NumPy dtype descriptor (without the byte-order character) for each mpq dtype it can hold.
struct NpyType {
  DType dtype;
  const char* code;  // "f4", "u1", ...
};
constexpr NpyType kNpyTypes[] = {
    {DType::f32, "f4"}, {DType::f16, "f2"}, {DType::u8, "u1"},      {DType::i8, "i1"},
    {DType::i32, "i4"}, {DType::i64, "i8"}, {DType::boolean, "b1"},
};

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// This parser accepts exactly the literal forms NumPy writes (strings, True/False, int tuples).
struct HeaderValue {
  std::optional<std::string> s;
  std::optional<bool> b;
  std::optional<std::vector<int64_t>> tuple;
};

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& file) : t_(text), file_(file) {}

  std::vector<std::pair<std::string, HeaderValue>> parse() {
    std::vector<std::pair<std::string, HeaderValue>> out;
    ws();
    expect('{');
    ws();
    while (peek() != '}') {
      std::string key = string_lit();
      ws();
      expect(':');
      ws();
      out.emplace_back(key, value(key));
      ws();
      if (peek() == ',') {
        ++i_;
        ws();
      } else if (peek() != '}') {
        fail("expected ',' or '}' in the header dict");
      }
    }
    ++i_;
    ws();
    if (i_ != t_.size()) fail("unexpected text after the header dict");
    return out;
  }

 private:
  // The header as a message shows it: one line (control bytes escaped), padding dropped, bounded.
  std::string shown() const {
    const size_t end = t_.find_last_not_of(" \n");
    return printable(std::string_view(t_).substr(0, end == std::string::npos ? 0 : end + 1), 200);
  }

  [[noreturn]] void fail(const std::string& what) {
    invalid_input(str("malformed .npy header (", what, ") at offset ", i_, ": '", shown(), "'"))
        .file(file_)
        .raise();
  }
  char peek() const { return i_ < t_.size() ? t_[i_] : '\0'; }
  void ws() {
    while (i_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[i_]))) ++i_;
  }
  void expect(char c) {
    if (peek() != c) fail(str("expected '", c, "'"));
    ++i_;
  }
  std::string string_lit() {
    char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    ++i_;
    size_t start = i_;
    while (i_ < t_.size() && t_[i_] != q) ++i_;
    if (i_ >= t_.size()) fail("unterminated string");
    return std::string(t_.substr(start, i_++ - start));
  }
  int64_t int_lit() {
    size_t start = i_;
    int64_t v = 0;
    while (i_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[i_]))) {
      if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, t_[i_] - '0', &v))
        fail("dimension too large");
      ++i_;
    }
    if (i_ == start) fail("expected a non-negative integer dimension");
    // Python 2 era files may write long literals as 3L.
    if (peek() == 'L') ++i_;
    return v;
  }
  HeaderValue value(const std::string& key) {
    HeaderValue v;
    char c = peek();
    if (c == '\'' || c == '"') {
      v.s = string_lit();
    } else if (t_.substr(i_, 4) == "True") {
      v.b = true, i_ += 4;
    } else if (t_.substr(i_, 5) == "False") {
      v.b = false, i_ += 5;
    } else if (c == '(') {
      ++i_;
      std::vector<int64_t> dims;
      ws();
      while (peek() != ')') {
        dims.push_back(int_lit());
        ws();
        if (peek() == ',') {
          ++i_;
          ws();
        } else if (peek() != ')') {
          fail("expected ',' or ')' in the shape tuple");
        }
      }
      ++i_;
      v.tuple = std::move(dims);
    } else {
      fail(str("unsupported value for key '", key, "' (structured dtypes are not supported)"));
    }
    return v;
  }

  std::string_view t_;
  const std::string& file_;
  size_t i_ = 0;
};

uint32_t read_le(const std::string& b, size_t off, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[off + i]);
  return v;
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& name) {
  if (bytes.size() < kMagicLen + 4 || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0)
    invalid_input("not a .npy file (missing the \\x93NUMPY magic)").file(name).raise();
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    unsupported(str(".npy format version ", major, ".", minor, " (mpq reads 1.0, 2.0 and 3.0)"))
        .file(name)
        .raise();
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t prefix = kMagicLen + 2 + len_bytes;
  if (bytes.size() < prefix) invalid_input("truncated .npy header").file(name).raise();
  const size_t header_len = read_le(bytes, kMagicLen + 2, static_cast<int>(len_bytes));
  if (bytes.size() < prefix + header_len)
    invalid_input(str("truncated .npy file: header says ", header_len, " header bytes, file has ",
                      bytes.size() - prefix))
        .file(name)
        .raise();
  std::string_view header(bytes.data() + prefix, header_len);

  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<std::vector<int64_t>> shape;
  for (auto& [key, v] : HeaderParser(header, name).parse()) {
    if (key == "descr") {
      if (!v.s) invalid_input("'descr' must be a dtype string").file(name).key(key).raise();
      descr = v.s;
    } else if (key == "fortran_order") {
      if (!v.b) invalid_input("'fortran_order' must be True or False").file(name).key(key).raise();
      fortran = v.b;
    } else if (key == "shape") {
      if (!v.tuple) invalid_input("'shape' must be a tuple of ints").file(name).key(key).raise();
      shape = v.tuple;
    } else {
      invalid_input("unknown key in the .npy header").file(name).key(key).raise();
    }
  }
  if (!descr) invalid_input("the .npy header has no 'descr'").file(name).key("descr").raise();
  if (!fortran)
    invalid_input("the .npy header has no 'fortran_order'").file(name).key("fortran_order").raise();
  if (!shape) invalid_input("the .npy header has no 'shape'").file(name).key("shape").raise();
  if (*fortran)
    unsupported("Fortran-order arrays are not supported; save np.ascontiguousarray(a) instead")
        .file(name)
        .key("fortran_order")
        .raise();

  const std::string& d = *descr;
  if (d.size() < 2) invalid_input(str("unknown dtype '", d, "'")).file(name).key("descr").raise();
  const char order = d[0];
  const std::string code = d.substr(1);
  const NpyType* type = nullptr;
  for (const auto& nt : kNpyTypes)
    if (code == nt.code) type = &nt;
  if (!type)
    unsupported(str("dtype '", d, "' is not supported (use float32, float16, uint8, int8, int32, ",
                    "int64 or bool: a.astype(np.float32))"))
        .file(name)
        .key("descr")
        .raise();
  const size_t item = dtype_size(type->dtype);
  const bool little = order == '<' || order == '|' || order == '=';
  if (order == '>' && item > 1)
    unsupported(str("big-endian dtype '", d, "' is not supported; save a.astype('<", code, "')"))
        .file(name)
        .key("descr")
        .raise();
  if (!little && !(order == '>' && item == 1))
    invalid_input(str("unknown byte order in dtype '", d, "'")).file(name).key("descr").raise();

  Shape dims(shape->begin(), shape->end());
  int64_t numel = 1;
  for (int64_t v : dims)
    if (__builtin_mul_overflow(numel, v, &numel) || numel > (int64_t{1} << 48))
      invalid_input(str("shape ", shape_str(dims), " is too large"))
          .file(name)
          .key("shape")
          .raise();
  const size_t data_off = prefix + header_len;
  const size_t want = static_cast<size_t>(numel) * item;
  const size_t have = bytes.size() - data_off;
  if (have != want)
    invalid_input(str(have < want ? "truncated" : "oversized", " .npy file: header says ", d, " ",
                      shape_str(dims), " = ", want, " data bytes, the file holds ", have))
        .file(name)
        .key("shape")
        .raise();
  Tensor t(type->dtype, dims);
  if (want) std::memcpy(t.raw(), bytes.data() + data_off, want);
  if (type->dtype == DType::boolean) {
    // NumPy writes bools as 0/1 bytes; anything else is corruption.
    const uint8_t* p = static_cast<const uint8_t*>(t.raw());
    for (size_t i = 0; i < want; ++i)
      if (p[i] > 1)
        invalid_input(str("bool array holds the byte ", int(p[i]), " at element ", i))
            .file(name)
            .raise();
  }
  return t;
}

bool looks_like_npy(const std::string& bytes) {
  return bytes.compare(0, 6, kMagic) == 0;
}

Tensor read_npy(const std::string& path) {
  return parse_npy(read_file_maybe_gz(path, looks_like_npy, "a .npy file"), path);
}

std::string encode_npy(const Tensor& t) {
  const NpyType* type = nullptr;
  for (const auto& nt : kNpyTypes)
    if (nt.dtype == t.dtype()) type = &nt;
  if (!type)
    unsupported(str(dtype_name(t.dtype()), " has no NumPy dtype; cast the tensor to f32 first"))
        .raise();
  if (!shape_is_static(t.shape()))
    internal_error(str("write_npy: shape ", shape_str(t.shape()), " is not static")).raise();
  const bool one_byte = dtype_size(t.dtype()) == 1;
  std::string dict =
      str("{'descr': '", one_byte ? "|" : "<", type->code, "', 'fortran_order': False, 'shape': (");
  for (int i = 0; i < t.rank(); ++i) dict += str(i ? ", " : "", t.dim(i));
  dict += t.rank() == 1 ? ",), }" : "), }";  // Python's one-element tuple is "(3,)"

  // Pad with spaces so the data starts at a multiple of 64, ending the header with '\n'.
  auto build = [&](int major) {
    const size_t prefix = kMagicLen + 2 + (major == 1 ? 2 : 4);
    size_t total = prefix + dict.size() + 1;
    size_t pad = (64 - total % 64) % 64;
    std::string h = dict + std::string(pad, ' ') + "\n";
    std::string out(kMagic, kMagicLen);
    out += static_cast<char>(major);
    out += '\0';
    const size_t n = h.size();
    for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i)
      out += static_cast<char>((n >> (8 * i)) & 0xff);
    return out + h;
  };
  std::string out = dict.size() + 1 + 64 < 65535 ? build(1) : build(2);
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string bytes = encode_npy(t);
  write_file_atomic(path, [&](std::ostream& os) { os.write(bytes.data(), bytes.size()); });
}

void write_npy_files(const std::vector<std::string>& paths, const std::vector<Tensor>& tensors) {
  StagedOutputs out;
  for (size_t i = 0; i < paths.size(); ++i) write_npy(out.stage(paths[i]), tensors.at(i));
  out.commit();
}

}  // namespace mpq::data
