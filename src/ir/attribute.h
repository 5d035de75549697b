// Node attributes: a small typed map. Op schemas (OpDef::attrs) give types and defaults; the
// importer fills every default in, so op code reads attributes without repeating defaults.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace mpq {

enum class AttrType { kInt, kFloat, kString, kInts, kFloats, kStrings, kTensor };
const char* attr_type_name(AttrType t);

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>,
                               std::vector<float>, std::vector<std::string>, Tensor>;
AttrType attr_value_type(const AttrValue& v);
std::string attr_value_str(const AttrValue& v);  // short human-readable form

class Attributes {
 public:
  bool has(const std::string& name) const { return map_.count(name) != 0; }
  void set(const std::string& name, AttrValue v) { map_[name] = std::move(v); }
  void erase(const std::string& name) { map_.erase(name); }
  const std::map<std::string, AttrValue>& all() const { return map_; }

  int64_t i(const std::string& name) const { return get<int64_t>(name); }
  float f(const std::string& name) const { return get<float>(name); }
  const std::string& s(const std::string& name) const { return get<std::string>(name); }
  const std::vector<int64_t>& ints(const std::string& name) const {
    return get<std::vector<int64_t>>(name);
  }
  const std::vector<float>& floats(const std::string& name) const {
    return get<std::vector<float>>(name);
  }
  const std::vector<std::string>& strings(const std::string& name) const {
    return get<std::vector<std::string>>(name);
  }
  const Tensor& tensor(const std::string& name) const { return get<Tensor>(name); }

  int64_t i(const std::string& name, int64_t def) const { return has(name) ? i(name) : def; }
  float f(const std::string& name, float def) const { return has(name) ? f(name) : def; }
  std::vector<int64_t> ints(const std::string& name, std::vector<int64_t> def) const {
    return has(name) ? ints(name) : def;
  }

  template <typename T>
  const T& get(const std::string& name) const {
    auto it = map_.find(name);
    if (it == map_.end()) internal_error("missing attribute").key(name).raise();
    const T* p = std::get_if<T>(&it->second);
    if (!p) invalid_input("attribute has the wrong type").key(name).raise();
    return *p;
  }

 private:
  std::map<std::string, AttrValue> map_;
};

}  // namespace mpq
