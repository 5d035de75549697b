// Temp files of crash-safe writes (write to `<path>.tmp.<pid>`, rename over `<path>`): while one
// is open it is registered, so that SIGINT / SIGTERM / SIGHUP remove it before the process dies
// (the CLI installs the handler). A normal failure removes it through the guard's destructor.
// SIGKILL cannot be caught: the next guard for the same file removes the temps of dead processes.
#pragma once

#include <signal.h>

#include <string>

namespace mpq {

// The temp name next to `path` that a write of this process uses.
std::string temp_path_for(const std::string& path);

// Registers a temp file for the lifetime of the guard; removes it in the destructor unless
// release() was called (after the rename that makes it the real file). A temp path of the form
// `<path>.tmp.<pid>` first removes the `<path>.tmp.<other pid>` files whose process is gone.
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

// Removes `<path>.tmp.<pid>` files next to `path` whose process no longer runs (a writer killed
// by SIGKILL or a power cut); temps of live processes are left alone. Returns how many it removed.
int remove_stale_temps(const std::string& path);

// Blocks SIGINT, SIGTERM and SIGHUP for its lifetime, so that a group of renames (all-or-nothing
// outputs) is not cut in half; a signal that arrives meanwhile is delivered when it ends.
class SignalBlock {
 public:
  SignalBlock();
  ~SignalBlock();
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t old_;
};

// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove every registered temp file and
// then die of the same signal. Idempotent. With `interrupt_message`, SIGINT (Ctrl-C) instead
// writes it to stderr and exits with 130, the shell's status for an interrupt.
void install_temp_file_cleanup(const char* interrupt_message = nullptr);

}  // namespace mpq
