#include "frontend/onnx/attributes.h"

#include "frontend/onnx/tensor_proto.h"

namespace mpq::onnx_io {

namespace {
using AP = onnx::AttributeProto;

// Files written before IR version 0.0.2 may leave `type` unset: infer it from the field present.
AP::AttributeType effective_type(const AP& a) {
  if (a.type() != AP::UNDEFINED) return a.type();
  if (a.has_f()) return AP::FLOAT;
  if (a.has_i()) return AP::INT;
  if (a.has_s()) return AP::STRING;
  if (a.has_t()) return AP::TENSOR;
  if (a.has_g()) return AP::GRAPH;
  if (a.floats_size()) return AP::FLOATS;
  if (a.ints_size()) return AP::INTS;
  if (a.strings_size()) return AP::STRINGS;
  if (a.graphs_size()) return AP::GRAPHS;
  return AP::UNDEFINED;
}
}  // namespace

AttrValue attr_from_proto(const AP& a) {
  switch (effective_type(a)) {
    case AP::FLOAT:
      return a.f();
    case AP::INT:
      return a.i();
    case AP::STRING:
      return a.s();
    case AP::FLOATS:
      return std::vector<float>(a.floats().begin(), a.floats().end());
    case AP::INTS:
      return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case AP::STRINGS:
      return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case AP::TENSOR: {
      try {
        return tensor_from_proto(a.t());
      } catch (const Error& e) {
        Status s = e.status();
        s.key = a.name();  // the attribute is what the user can find in the file
        throw Error(s);
      }
    }
    case AP::UNDEFINED:
      invalid_input("attribute has no type and no value").key(a.name()).raise();
    default:
      unsupported(str("attribute of kind ", AP::AttributeType_Name(a.type()),
                      " (subgraphs, sparse tensors, types) is not supported"))
          .key(a.name())
          .raise();
  }
}

void attr_to_proto(const std::string& name, const AttrValue& v, AP* out) {
  out->Clear();
  out->set_name(name);
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          out->set_type(AP::INT), out->set_i(x);
        } else if constexpr (std::is_same_v<T, float>) {
          out->set_type(AP::FLOAT), out->set_f(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          out->set_type(AP::STRING), out->set_s(x);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          out->set_type(AP::INTS);
          for (int64_t e : x) out->add_ints(e);
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          out->set_type(AP::FLOATS);
          for (float e : x) out->add_floats(e);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          out->set_type(AP::STRINGS);
          for (const auto& e : x) out->add_strings(e);
        } else {
          out->set_type(AP::TENSOR);
          tensor_to_proto(x, "", out->mutable_t());
        }
      },
      v);
}

}  // namespace mpq::onnx_io
