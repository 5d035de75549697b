#include "core/staged_outputs.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/status.h"

namespace mpq {

const std::string& StagedOutputs::stage(const std::string& target) {
  if (target.empty()) return none_;
  for (const Entry& e : entries_)
    if (e.target == target)
      invalid_input("the same file is given for two outputs; give each its own")
          .file(target)
          .raise();
  // The temp is registered before the file exists: a signal while it is written removes it.
  entries_.push_back({target, std::make_unique<TempFileGuard>(temp_path_for(target))});
  return entries_.back().temp->path();
}

void StagedOutputs::commit() {
  SignalBlock hold;  // the renames are one step for SIGINT / SIGTERM
  for (const Entry& e : entries_)
    if (std::rename(e.temp->path().c_str(), e.target.c_str()) != 0)
      invalid_input(str("cannot move the finished file into place: ", std::strerror(errno)))
          .file(e.target)
          .raise();
    else
      e.temp->release();
  entries_.clear();
}

}  // namespace mpq
