// Temp files of crash-safe writes: removed when the write fails, kept (as the real file) when it
// succeeds, and removed when the process is killed by SIGTERM or SIGINT mid-write.
#include "core/temp_files.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/status.h"

namespace mpq {
namespace {

namespace fs = std::filesystem;

fs::path scratch(const char* name) {
  fs::path d = fs::temp_directory_path() / str("mpq_temp_files_", ::getpid());
  fs::create_directories(d);
  return d / name;
}

TEST(TempFiles, GuardRemovesUnlessReleased) {
  const fs::path target = scratch("a.bin");
  {
    TempFileGuard g(temp_path_for(target.string()));
    std::ofstream(g.path()) << "partial";
    ASSERT_TRUE(fs::exists(g.path()));
  }
  EXPECT_FALSE(fs::exists(temp_path_for(target.string())));
  {
    TempFileGuard g(temp_path_for(target.string()));
    std::ofstream(g.path()) << "whole";
    fs::rename(g.path(), target);
    g.release();
  }
  EXPECT_TRUE(fs::exists(target));
  fs::remove_all(target.parent_path());
}

TEST(TempFiles, KilledWriterLeavesNoTempFile) {
  for (int sig : {SIGTERM, SIGINT}) {
    const fs::path target = scratch("killed.bin");
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // the writer: registers its temp file, then is killed mid-write
      install_temp_file_cleanup();
      TempFileGuard g(temp_path_for(target.string()));
      std::ofstream(g.path()) << "half of an engine";
      ::raise(sig);
      ::_exit(0);  // not reached
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << status;
    for (const auto& e : fs::directory_iterator(target.parent_path()))
      ADD_FAILURE() << "left behind: " << e.path();
    fs::remove_all(target.parent_path());
  }
}

}  // namespace
}  // namespace mpq
