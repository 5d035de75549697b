#include "core/temp_files.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
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
const char* g_interrupt_message = nullptr;

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
  if (sig == SIGINT && g_interrupt_message) {
    const ssize_t n = ::write(STDERR_FILENO, g_interrupt_message, std::strlen(g_interrupt_message));
    (void)n;
    ::_exit(130);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// The pid of `name` when it is `<base>.tmp.<digits>`, else 0.
pid_t temp_pid(const std::string& name, const std::string& base) {
  const std::string prefix = base + ".tmp.";
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return 0;
  const std::string digits = name.substr(prefix.size());
  if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return static_cast<pid_t>(std::stol(digits));
}

bool process_gone(pid_t pid) {
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

// `p` = `<path>.tmp.<pid>`: the path it is a temp of, or "" when it is not a temp name.
std::string temp_target(const std::string& p) {
  const size_t at = p.rfind(".tmp.");
  if (at == std::string::npos || at == 0) return "";
  const std::string target = p.substr(0, at);
  const std::string name = std::filesystem::path(p).filename().string();
  return temp_pid(name, std::filesystem::path(target).filename().string()) ? target : "";
}

}  // namespace

int remove_stale_temps(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string base = target.filename().string();
  std::error_code ec;
  int removed = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const pid_t pid = temp_pid(it->path().filename().string(), base);
    if (pid > 0 && pid != ::getpid() && process_gone(pid) && fs::remove(it->path(), ec)) ++removed;
  }
  return removed;
}

SignalBlock::SignalBlock() {
  sigset_t s;
  sigemptyset(&s);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&s, sig);
  ::pthread_sigmask(SIG_BLOCK, &s, &old_);
}

SignalBlock::~SignalBlock() {
  ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

std::string temp_path_for(const std::string& path) {
  return str(path, ".tmp.", ::getpid());
}

TempFileGuard::TempFileGuard(std::string path) : path_(std::move(path)) {
  const std::string target = temp_target(path_);
  if (!target.empty()) remove_stale_temps(target);
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

void install_temp_file_cleanup(const char* interrupt_message) {
  g_interrupt_message = interrupt_message;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace mpq
