#include "core/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/status.h"

namespace mpq {

namespace {

[[noreturn]] void too_large(const std::string& path, const std::string& what, size_t max_bytes) {
  invalid_input(
      str(what, " is larger than ", max_bytes,
          " bytes; refusing to read it (raise MPQ_MAX_INPUT_BYTES if it is really meant)"))
      .file(path)
      .raise();
}

}  // namespace

void check_input_path(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      not_found(str(what, " does not exist; check the path")).file(path).raise();
    invalid_input(str("cannot read the ", what, ": ", std::strerror(errno))).file(path).raise();
  }
  if (S_ISDIR(st.st_mode))
    invalid_input(str("is a directory, expected a ", what)).file(path).raise();
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
    invalid_input(str("is a device or special file, not a regular file: give a ", what))
        .file(path)
        .raise();
}

std::string read_input_file(const std::string& path, const std::string& what, size_t max_bytes) {
  check_input_path(path, what);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    invalid_input(str("cannot open the ", what, ": ", std::strerror(errno))).file(path).raise();
  struct stat st {};
  ::fstat(fd, &st);
  std::string bytes;
  if (S_ISREG(st.st_mode)) {
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
      ::close(fd), too_large(path, what, max_bytes);
    bytes.resize(static_cast<size_t>(st.st_size));
  }
  // Regular files fill the buffer of their size; pipes grow it up to the cap.
  size_t got = 0;
  for (;;) {
    if (got == bytes.size()) {
      if (S_ISREG(st.st_mode)) break;
      if (bytes.size() >= max_bytes) ::close(fd), too_large(path, what, max_bytes);
      bytes.resize(std::min(max_bytes, std::max<size_t>(bytes.size() * 2, 1 << 16)));
    }
    const ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int err = errno;
      ::close(fd);
      invalid_input(str("cannot read the ", what, ": ", std::strerror(err))).file(path).raise();
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  if (S_ISREG(st.st_mode) && got != bytes.size())
    invalid_input(str("read of the ", what, " ended early (file changed or I/O error)"))
        .file(path)
        .raise();
  bytes.resize(got);
  return bytes;
}

}  // namespace mpq
