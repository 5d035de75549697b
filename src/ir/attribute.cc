#include "ir/attribute.h"

#include <sstream>

namespace mpq {

const char* attr_type_name(AttrType t) {
  static const char* kNames[] = {"int", "float", "string", "ints", "floats", "strings", "tensor"};
  return kNames[static_cast<int>(t)];
}

AttrType attr_value_type(const AttrValue& v) { return static_cast<AttrType>(v.index()); }

namespace {
template <typename T>
void join(std::ostringstream& os, const std::vector<T>& v) {
  os << '[';
  for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  os << ']';
}
}  // namespace

std::string attr_value_str(const AttrValue& v) {
  std::ostringstream os;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Tensor>)
          os << "tensor<" << dtype_name(x.dtype()) << shape_str(x.shape()) << ">";
        else if constexpr (std::is_same_v<T, std::string>)
          os << '"' << x << '"';
        else if constexpr (std::is_arithmetic_v<T>)
          os << x;
        else
          join(os, x);
      },
      v);
  return os.str();
}

}  // namespace mpq
