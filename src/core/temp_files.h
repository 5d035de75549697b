// Temp files of crash-safe writes (write to `<path>.tmp.<pid>`, rename over `<path>`): while one
// is open it is registered, so that SIGINT / SIGTERM / SIGHUP remove it before the process dies
// (the CLI installs the handler). A normal failure removes it through the guard's destructor.
#pragma once

#include <string>

namespace mpq {

// The temp name next to `path` that a write of this process uses.
std::string temp_path_for(const std::string& path);

// Registers a temp file for the lifetime of the guard; removes it in the destructor unless
// release() was called (after the rename that makes it the real file).
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path);
  ~TempFileGuard();
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  const std::string& path() const { return path_; }
  void release();  // the file was renamed into place: nothing to remove

 private:
  std::string path_;
  int slot_ = -1;
  bool released_ = false;
};

// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove every registered temp file and
// then die of the same signal. Idempotent.
void install_temp_file_cleanup();

}  // namespace mpq
