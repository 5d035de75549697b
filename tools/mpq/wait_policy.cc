#include "wait_policy.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace mpq::cli {

namespace {

bool machine_busy() {
  std::ifstream f("/proc/loadavg");
  double load1 = 0;
  return (f >> load1) && load1 > static_cast<double>(std::thread::hardware_concurrency());
}

}  // namespace

bool wait_policy_set_by_mpq() {
  return std::getenv("MPQ_SET_WAIT_POLICY") != nullptr;
}

void rerun_with_passive_wait_if_busy() {
  if (std::getenv("OMP_WAIT_POLICY") || wait_policy_set_by_mpq() || !machine_busy()) return;
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string a; std::getline(f, a, '\0');) args.push_back(a);
  if (args.empty()) return;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  setenv("OMP_WAIT_POLICY", "passive", 1);
  setenv("MPQ_SET_WAIT_POLICY", "1", 1);
  execv("/proc/self/exe", argv.data());
  unsetenv("OMP_WAIT_POLICY");  // exec failed: carry on as we are
  unsetenv("MPQ_SET_WAIT_POLICY");
}

}  // namespace mpq::cli
