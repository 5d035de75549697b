// Canonical attributes for the window ops: auto_pad resolved into explicit pads, and kernel_shape,
// strides, dilations filled in, so that no backend handles auto_pad or re-derives defaults
// (they read ops::conv_attrs). Shapes are static here except the batch.
#include "ir/ops/window_attrs.h"
#include "passes/pass.h"

namespace mpq::passes {

namespace {

bool canonical(const Node& n) {
  return n.attrs.has("pads") && n.attrs.has("strides") && n.attrs.has("kernel_shape") &&
         (!n.attrs.has("auto_pad") || n.attrs.s("auto_pad") == "NOTSET");
}

class Canonicalize : public Pass {
 public:
  const char* name() const override { return "canonicalize"; }
  bool run(Graph& g, PassContext& ctx) const override {
    bool changed = false;
    for (const auto& up : g.nodes()) {
      Node& n = *up;
      if (canonical(n)) continue;
      changed |= ops::canonicalize_window(n);
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_canonicalize() {
  return std::make_unique<Canonicalize>();
}

}  // namespace mpq::passes
