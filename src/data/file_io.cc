#include "data/file_io.h"

#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/input_file.h"
#include "core/status.h"
#include "core/temp_files.h"

namespace mpq::data {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  return read_input_file(path, "file");
}

std::string read_file_maybe_gz(const std::string& path, const HeadCheck& head_ok,
                               const std::string& expected, size_t max_bytes) {
  return inflate_maybe_gz(read_file(path), path, head_ok, expected, max_bytes);
}

std::string inflate_maybe_gz(std::string raw, const std::string& path, const HeadCheck& head_ok,
                             const std::string& expected, size_t max_bytes) {
  if (raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1f ||
      static_cast<unsigned char>(raw[1]) != 0x8b)
    return raw;
  std::string out;
  z_stream zs{};
  // 15 + 32: zlib or gzip header, auto-detected.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) internal_error("zlib inflateInit2 failed").raise();
  if (raw.size() > UINT32_MAX) {
    inflateEnd(&zs);
    invalid_input("compressed file too large (over 4 GiB)").file(path).raise();
  }
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  out.resize(std::min(std::max<size_t>(raw.size() * 4, 1 << 16), max_bytes));
  size_t produced = 0;
  bool head_checked = false;
  auto check_head = [&] {
    head_checked = true;
    if (!head_ok || head_ok(out.substr(0, std::min(produced, kHeadBytes)))) return;
    inflateEnd(&zs);
    invalid_input(str("the gzip stream does not start like ", expected,
                      " (wrong magic bytes); refusing to inflate it"))
        .file(path)
        .raise();
  };
  for (;;) {
    if (!head_checked && produced >= kHeadBytes) check_head();
    if (produced == out.size()) {
      if (out.size() >= max_bytes) {
        inflateEnd(&zs);
        invalid_input(str("inflates to more than ", max_bytes,
                          " bytes; refusing (raise MPQ_MAX_INPUT_BYTES if it is really meant)"))
            .file(path)
            .raise();
      }
      out.resize(std::min(out.size() * 2, max_bytes));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    const size_t room = std::min<size_t>(out.size() - produced, UINT32_MAX);
    zs.avail_out = static_cast<uInt>(room);
    int rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members (as `cat a.gz b.gz` gives) continue the same stream.
      if (zs.avail_in == 0) break;
      if (inflateReset(&zs) != Z_OK) break;
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out != 0) {
      inflateEnd(&zs);
      invalid_input(
          "gzip stream is truncated (unexpected end of file); re-download or re-create it")
          .file(path)
          .raise();
    }
    if (rc == Z_BUF_ERROR) continue;
    std::string msg = zs.msg ? zs.msg : "inflate error";
    inflateEnd(&zs);
    invalid_input(str("corrupt gzip data: ", msg)).file(path).raise();
  }
  if (!head_checked) check_head();
  inflateEnd(&zs);
  out.resize(produced);
  return out;
}

void check_output_path(const std::string& path) {
  fs::path target(path);
  std::error_code ec;
  if (path.empty()) invalid_input("output path is empty; give a file name").raise();
  if (fs::is_directory(target, ec))
    invalid_input("output path is a directory; give a file name").file(path).raise();
  fs::path dir = target.parent_path();
  if (!dir.empty() && !fs::is_directory(dir, ec))
    invalid_input("output directory does not exist; create it first").file(path).raise();
  if (::access(dir.empty() ? "." : dir.c_str(), W_OK) != 0)
    invalid_input(str("cannot write into the output directory: ", std::strerror(errno)))
        .file(path)
        .raise();
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  check_output_path(path);
  TempFileGuard tmp(temp_path_for(path));  // removed on every failure path
  {
    std::ofstream out(tmp.path(), std::ios::binary | std::ios::trunc);
    if (!out)
      invalid_input(str("cannot create output file: ", std::strerror(errno))).file(path).raise();
    write(out);
    out.flush();
    if (!out) invalid_input("write failed (disk full or I/O error)").file(path).raise();
  }
  if (std::rename(tmp.path().c_str(), path.c_str()) != 0)
    invalid_input(str("cannot move the finished file into place: ", std::strerror(errno)))
        .file(path)
        .raise();
  tmp.release();
}

}  // namespace mpq::data
