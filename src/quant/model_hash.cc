#include "quant/model_hash.h"

#include <cstring>
#include <set>

namespace mpq::quant {

void Fnv1a64::bytes(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = h_;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  h_ = h;
}

void Fnv1a64::u64(uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  bytes(b, 8);
}

void Fnv1a64::f64(double v) {
  uint64_t u;
  std::memcpy(&u, &v, 8);
  u64(u);
}

void Fnv1a64::string(std::string_view s) {
  u64(s.size());
  bytes(s.data(), s.size());
}

std::string Fnv1a64::hex() const {
  static const char* digits = "0123456789abcdef";
  std::string s = "fnv1a64:";
  for (int i = 15; i >= 0; --i) s += digits[(h_ >> (4 * i)) & 0xf];
  return s;
}

namespace {

void hash_tensor(Fnv1a64& h, const Tensor& t) {
  h.string(dtype_name(t.dtype()));
  h.u64(t.shape().size());
  for (int64_t d : t.shape()) h.i64(d);
  if (t.numel() > 0) h.bytes(t.raw(), t.nbytes());
}

void hash_attr(Fnv1a64& h, const AttrValue& v) {
  h.u64(v.index());
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          h.i64(x);
        } else if constexpr (std::is_same_v<T, float>) {
          h.f64(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          h.string(x);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          h.u64(x.size());
          for (auto e : x) h.i64(e);
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          h.u64(x.size());
          for (auto e : x) h.f64(e);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          h.u64(x.size());
          for (const auto& e : x) h.string(e);
        } else {
          hash_tensor(h, x);
        }
      },
      v);
}

}  // namespace

std::string model_hash(const Graph& g) {
  Fnv1a64 h;
  h.string("mpq-model-v1");
  h.u64(g.inputs().size());
  for (const Value* v : g.inputs()) {
    h.string(v->name);
    h.string(dtype_name(v->dtype));
    h.u64(v->shape.size());
    for (int64_t d : v->shape) h.i64(d);
  }
  h.u64(g.nodes().size());
  std::set<const Value*> hashed;  // each constant's bytes once, however often it is used
  for (const auto& n : g.nodes()) {
    h.string(n->op_name());
    h.string(n->name);
    h.string(n->module_path);
    h.u64(n->attrs.all().size());
    for (const auto& [k, v] : n->attrs.all()) {  // std::map: sorted keys
      h.string(k);
      hash_attr(h, v);
    }
    h.u64(n->inputs.size());
    for (const Value* in : n->inputs) {
      if (!in) {
        h.string("<none>");
        continue;
      }
      h.string(in->name);
      h.u64(in->is_constant());
      if (in->is_constant() && hashed.insert(in).second) hash_tensor(h, *in->constant);
    }
    h.u64(n->outputs.size());
    for (const Value* o : n->outputs) h.string(o->name);
  }
  h.u64(g.outputs().size());
  for (const Value* o : g.outputs()) h.string(o->name);
  return h.hex();
}

}  // namespace mpq::quant
