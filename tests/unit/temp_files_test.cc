// Temp files of crash-safe writes: removed when the write fails, kept (as the real file) when it
// succeeds, and removed when the process is killed by SIGTERM or SIGINT mid-write; the temps of a
// process killed by SIGKILL are removed by the next write of the same file; several outputs are
// renamed into place together or not at all.
#include "core/temp_files.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/staged_outputs.h"
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

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST(TempFiles, StaleTempsOfDeadProcessesAreRemoved) {
  const fs::path target = scratch("engine.mpqe");
  const std::string dead = str(target.string(), ".tmp.", dead_pid());
  const std::string live = str(target.string(), ".tmp.", ::getppid());
  const std::string other = str(scratch("other.mpqe").string(), ".tmp.", dead_pid());
  for (const std::string& p : {dead, live, other}) std::ofstream(p) << "half";
  {
    TempFileGuard g(temp_path_for(target.string()));
    EXPECT_FALSE(fs::exists(dead));  // its writer is gone
    EXPECT_TRUE(fs::exists(live));   // its writer may still be writing
    EXPECT_TRUE(fs::exists(other));  // another file's temp
  }
  EXPECT_EQ(remove_stale_temps(scratch("other.mpqe").string()), 1);
  EXPECT_FALSE(fs::exists(other));
  fs::remove_all(target.parent_path());
}

TEST(StagedOutputs, CommitRenamesAll) {
  const fs::path a = scratch("model.onnx"), b = scratch("calib.json");
  std::ofstream(a) << "old model";
  {
    StagedOutputs out;
    std::ofstream(out.stage(a.string())) << "new model";
    std::ofstream(out.stage(b.string())) << "new calib";
    EXPECT_EQ(slurp(a), "old model");  // nothing is in place before commit
    EXPECT_FALSE(fs::exists(b));
    out.commit();
  }
  EXPECT_EQ(slurp(a), "new model");
  EXPECT_EQ(slurp(b), "new calib");
  EXPECT_EQ(std::distance(fs::directory_iterator(a.parent_path()), {}), 2);
  fs::remove_all(a.parent_path());
}

TEST(StagedOutputs, FailureBeforeCommitChangesNothing) {
  const fs::path a = scratch("model.onnx"), b = scratch("calib.json");
  std::ofstream(a) << "old model";
  try {
    StagedOutputs out;
    std::ofstream(out.stage(a.string())) << "new model";
    std::ofstream(out.stage(b.string())) << "half a calib";
    invalid_input("the second write failed").raise();
  } catch (const Error&) {
  }
  EXPECT_EQ(slurp(a), "old model");
  EXPECT_FALSE(fs::exists(b));
  EXPECT_EQ(std::distance(fs::directory_iterator(a.parent_path()), {}), 1);  // no temp left
  StagedOutputs twice;
  twice.stage(a.string());
  EXPECT_THROW(twice.stage(a.string()), Error);  // one file for two outputs
  fs::remove_all(a.parent_path());
}

TEST(StagedOutputs, SignalsWaitForTheRenames) {
  const fs::path marker = scratch("renamed");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    install_temp_file_cleanup();
    {
      SignalBlock hold;
      ::raise(SIGTERM);  // pending until the block ends
      std::ofstream(marker) << "done";
    }
    ::_exit(0);  // not reached: SIGTERM is delivered when `hold` ends
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  EXPECT_EQ(slurp(marker), "done");
  fs::remove_all(marker.parent_path());
}

}  // namespace
}  // namespace mpq
