#include "data/file_io.h"

#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/status.h"

namespace mpq::data {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) not_found("file does not exist; check the path").file(path).raise();
  if (fs::is_directory(st)) invalid_input("is a directory, expected a file").file(path).raise();
  std::ifstream in(path, std::ios::binary);
  if (!in) invalid_input(str("cannot open: ", std::strerror(errno))).file(path).raise();
  std::string bytes;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size > 0) {
    bytes.resize(static_cast<size_t>(size));
    in.read(bytes.data(), size);
    if (in.gcount() != size)
      invalid_input("read failed (file changed or I/O error)").file(path).raise();
  } else {
    // Special files (pipes) report no size: read them as a stream.
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return bytes;
}

std::string read_file_maybe_gz(const std::string& path, size_t max_bytes) {
  std::string raw = read_file(path);
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
  for (;;) {
    if (produced == out.size()) {
      if (out.size() >= max_bytes) {
        inflateEnd(&zs);
        invalid_input(str("inflates to more than ", max_bytes, " bytes; refusing"))
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
  inflateEnd(&zs);
  out.resize(produced);
  return out;
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  fs::path target(path);
  std::error_code ec;
  if (fs::is_directory(target, ec))
    invalid_input("output path is a directory; give a file name").file(path).raise();
  fs::path dir = target.parent_path();
  if (!dir.empty() && !fs::is_directory(dir, ec))
    invalid_input("output directory does not exist; create it first").file(path).raise();
  const std::string tmp = str(path, ".tmp.", ::getpid());
  auto cleanup = [&] { std::remove(tmp.c_str()); };
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      invalid_input(str("cannot create output file: ", std::strerror(errno))).file(path).raise();
    try {
      write(out);
    } catch (...) {
      out.close();
      cleanup();
      throw;
    }
    out.flush();
    if (!out) {
      out.close();
      cleanup();
      invalid_input("write failed (disk full or I/O error)").file(path).raise();
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    cleanup();
    invalid_input(str("cannot move the finished file into place: ", std::strerror(err)))
        .file(path)
        .raise();
  }
}

}  // namespace mpq::data
