// Status, Error and Result: how every stage reports a problem with the input it was given.
// The library never aborts on user input: it throws mpq::Error (carrying a Status) inside, and the
// public API / CLI turn it into a Result or an exit code (2 = bad input, 1 = internal failure).
#pragma once

#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace mpq {

enum class Code {
  kOk = 0,
  kInvalidInput,  // the user's file/flag/data is wrong: exit code 2
  kUnsupported,   // valid input that mpq cannot handle (yet): exit code 2
  kNotFound,      // a file or a named layer/key does not exist: exit code 2
  kInternal,      // a bug or an environment failure: exit code 1
};

const char* code_name(Code c);

// A status names what went wrong and where: the file, the node and the key it concerns.
struct Status {
  Code code = Code::kOk;
  std::string message;
  std::string file;  // file the problem is in, if any
  std::string node;  // graph node (or layer) the problem concerns, if any
  std::string key;   // JSON key / attribute / flag, if any

  bool ok() const { return code == Code::kOk; }
  // One line: "<file>: node '<node>': key '<key>': <message>".
  std::string to_string() const;
  // CLI exit code: 0 ok, 2 bad input, 1 internal failure.
  int exit_code() const;

  static Status Ok() { return {}; }
};

class Error : public std::runtime_error {
 public:
  explicit Error(Status s) : std::runtime_error(s.to_string()), status_(std::move(s)) {}
  const Status& status() const { return status_; }
  // Adds context (file/node/key) where it is not known yet, keeping the innermost one.
  Error with_file(const std::string& f) const;
  Error with_node(const std::string& n) const;

 private:
  Status status_;
};

// Builders that read well at the throw site: throw invalid_input("expected ...").node(n.name)
class ErrorBuilder {
 public:
  ErrorBuilder(Code c, std::string msg) { s_.code = c, s_.message = std::move(msg); }
  ErrorBuilder& file(std::string f) { return s_.file = std::move(f), *this; }
  ErrorBuilder& node(std::string n) { return s_.node = std::move(n), *this; }
  ErrorBuilder& key(std::string k) { return s_.key = std::move(k), *this; }
  operator Error() const { return Error(s_); }
  [[noreturn]] void raise() const { throw Error(s_); }

 private:
  Status s_;
};

inline ErrorBuilder invalid_input(std::string msg) {
  return {Code::kInvalidInput, std::move(msg)};
}
inline ErrorBuilder unsupported(std::string msg) {
  return {Code::kUnsupported, std::move(msg)};
}
inline ErrorBuilder not_found(std::string msg) {
  return {Code::kNotFound, std::move(msg)};
}
inline ErrorBuilder internal_error(std::string msg) {
  return {Code::kInternal, std::move(msg)};
}

// Concatenates anything streamable: str("expected ", n, " inputs").
template <typename... A>
std::string str(const A&... a) {
  std::ostringstream os;
  (os << ... << a);
  return os.str();
}

// Result<T>: a value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T v) : v_(std::move(v)) {}
  Result(Status s) : v_(std::move(s)) {}
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() {
    if (!ok()) throw Error(std::get<Status>(v_));
    return std::get<T>(v_);
  }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, Status> v_;
};

// Runs f() and returns its value, or the Status of the mpq::Error it threw.
template <typename F>
auto capture(F&& f) -> Result<decltype(f())> {
  try {
    return f();
  } catch (const Error& e) {
    return e.status();
  } catch (const std::exception& e) {
    return Status{Code::kInternal, e.what(), "", "", ""};
  }
}

}  // namespace mpq
