#include "core/temp_files.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "core/status.h"

namespace mpq {

namespace {

// Fixed storage: the signal handler may only read memory that is never reallocated.
constexpr int kSlots = 64;
constexpr size_t kMaxPath = 4096;
char g_paths[kSlots][kMaxPath];
std::atomic<bool> g_used[kSlots];
std::mutex g_mu;

int register_path(const std::string& p) {
  if (p.size() >= kMaxPath) return -1;
  std::lock_guard<std::mutex> lock(g_mu);
  for (int i = 0; i < kSlots; ++i)
    if (!g_used[i].load()) {
      std::memcpy(g_paths[i], p.c_str(), p.size() + 1);
      g_used[i].store(true);
      return i;
    }
  return -1;  // more concurrent writes than slots: that file is only removed on normal failure
}

void on_signal(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load()) ::unlink(g_paths[i]);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

std::string temp_path_for(const std::string& path) {
  return str(path, ".tmp.", ::getpid());
}

TempFileGuard::TempFileGuard(std::string path) : path_(std::move(path)) {
  slot_ = register_path(path_);
}

TempFileGuard::~TempFileGuard() {
  if (!released_) std::remove(path_.c_str());
  if (slot_ >= 0) g_used[slot_].store(false);
}

void TempFileGuard::release() {
  released_ = true;
  if (slot_ >= 0) g_used[slot_].store(false);
  slot_ = -1;
}

void install_temp_file_cleanup() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace mpq
