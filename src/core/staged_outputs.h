// All-or-nothing outputs of a command that writes several files (a model and its calibration
// table, several .npy outputs): each file is written to its own temp file next to its target,
// and only when every one is complete are they renamed into place, with SIGINT / SIGTERM held
// off until the last rename. Any failure before commit() removes every temp file and leaves
// each pre-existing target as it was.
//
//   StagedOutputs out;
//   export_onnx(g, out.stage("model.onnx"));        // writes model.onnx.tmp.<pid>
//   write_calibration_table(t, out.stage("c.json"));
//   out.commit();                                    // both renamed, or neither
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/temp_files.h"

namespace mpq {

class StagedOutputs {
 public:
  // The temp path to write `target` to (registered for removal on failure and on signals).
  // An empty target is not staged and returns "".
  const std::string& stage(const std::string& target);
  // Renames every staged file onto its target. A rename can only fail for a reason outside the
  // program (the folder removed meanwhile, an I/O error); that is reported as kInvalidInput
  // naming the file, and the files not yet renamed are removed.
  void commit();

 private:
  struct Entry {
    std::string target;
    std::unique_ptr<TempFileGuard> temp;
  };
  std::vector<Entry> entries_;
  std::string none_;
};

}  // namespace mpq
