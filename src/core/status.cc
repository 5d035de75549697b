#include "core/status.h"

namespace mpq {

const char* code_name(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kInvalidInput: return "invalid input";
    case Code::kUnsupported: return "unsupported";
    case Code::kNotFound: return "not found";
    case Code::kInternal: return "internal error";
  }
  return "?";
}

std::string Status::to_string() const {
  std::string out;
  if (!file.empty()) out += file + ": ";
  if (!node.empty()) out += "node '" + node + "': ";
  if (!key.empty()) out += "key '" + key + "': ";
  out += message;
  return out;
}

int Status::exit_code() const {
  switch (code) {
    case Code::kOk: return 0;
    case Code::kInternal: return 1;
    default: return 2;
  }
}

Error Error::with_file(const std::string& f) const {
  Status s = status_;
  if (s.file.empty()) s.file = f;
  return Error(s);
}

Error Error::with_node(const std::string& n) const {
  Status s = status_;
  if (s.node.empty()) s.node = n;
  return Error(s);
}

}  // namespace mpq
