// Data movement on the strided map kernel: Transpose (permuted strides), Slice (offset and
// stepped strides), Concat (one launch per input into its window of the output), Pad (constant
// mode: reads outside the input give the pad value) and Gather (constant indices: one launch per
// index). Any layout in and out; int8 values keep their quantization where the op passes it on.
#include <algorithm>

#include "backends/cuda/kernels.h"
#include "backends/cuda/map_util.h"
#include "ir/op_def.h"

namespace mpq::cuda {

namespace {

int64_t axis_of(const Node& n, size_t rank, int64_t dflt) {
  int64_t a = n.attrs.i("axis", dflt);
  if (a < 0) a += static_cast<int64_t>(rank);
  return a;
}

// Constant inputs of these ops are uploaded once; activations come from the step's buffers.
struct Source {
  TensorSpec spec;
  DeviceConstant constant;
};

class MoveKernel : public Kernel, public MapLauncher {
 public:
  void prepare(const KernelSetup& s) override {
    const Node& n = *s.node;
    op_ = n.op;
    out_ = *s.outputs.at(0);
    const size_t rank = s.inputs.at(0)->shape.size();
    if (op_ == OpKind::Concat) {
      axis_ = axis_of(n, rank, 0);
      for (const TensorSpec* t : s.inputs) {
        srcs_.emplace_back();
        srcs_.back().spec = *t;
        if (!t->is_constant()) continue;
        srcs_.back().constant.upload(*t->constant);
        srcs_.back().spec.layout = Layout::kPlain;
      }
      return;
    }
    srcs_.emplace_back();
    srcs_.back().spec = *s.inputs[0];
    if (op_ == OpKind::Transpose) {
      perm_ = n.attrs.ints("perm", {});
      if (perm_.empty())
        for (size_t d = 0; d < rank; ++d) perm_.insert(perm_.begin(), static_cast<int64_t>(d));
    } else if (op_ == OpKind::Slice) {
      prepare_slice(s, rank);
    } else if (op_ == OpKind::Pad) {
      const std::vector<int64_t> pads = s.inputs.at(1)->constant->to_int64s();
      lo_.assign(pads.begin(), pads.begin() + static_cast<int64_t>(rank));
      if (s.inputs.size() > 2 && s.inputs[2]) pad_value_ = s.inputs[2]->constant->to_floats().at(0);
    } else if (op_ == OpKind::Gather) {
      axis_ = axis_of(n, rank, 0);
      index_ = s.inputs.at(1)->constant->to_int64s();
      scalar_index_ = s.inputs[1]->shape.empty();
      const int64_t dim = s.inputs[0]->shape[axis_];
      for (int64_t& i : index_) {
        if (i < 0) i += dim;
        if (i < 0 || i >= dim)
          invalid_input(str("Gather index out of range for dim ", dim)).node(n.name).raise();
      }
    }
  }

  void run(const KernelArgs& a) const override { run_launches(launches(a.batch), a); }

  std::vector<MapLaunch> launches(int64_t batch) const override {
    const Shape od = out_.shape_at(batch);
    const std::vector<int64_t> ost = logical_strides(out_, od);
    if (op_ == OpKind::Concat) return concat_launches(batch, ost);
    const Source& src = srcs_[0];
    const Shape id = src.spec.shape_at(batch);
    const std::vector<int64_t> ist = logical_strides(src.spec, id);
    if (op_ == OpKind::Gather) return gather_launches(id, ist, ost);
    MapLaunch l;
    l.input[0] = 0;
    MapParams& p = l.p;
    p.in[0].e = elem_desc(src.spec);
    p.out.e = elem_desc(out_);
    set_space(p, od);
    for (size_t d = 0; d < od.size(); ++d) p.out.stride[d] = ost[d];
    if (op_ == OpKind::Transpose) {
      for (size_t d = 0; d < od.size(); ++d) p.in[0].stride[d] = ist[perm_[d]];
    } else if (op_ == OpKind::Slice) {
      for (size_t d = 0; d < od.size(); ++d) {
        p.in[0].offset += start_[d] * ist[d];
        p.in[0].stride[d] = step_[d] * ist[d];
      }
    } else if (op_ == OpKind::Pad) {
      p.padded = true;
      p.pad_value = pad_value_;
      for (size_t d = 0; d < od.size(); ++d) {
        p.lo[d] = static_cast<int32_t>(lo_[d]);
        p.in_dims[d] = static_cast<int32_t>(id[d]);
        p.in[0].stride[d] = ist[d];
        p.in[0].offset -= lo_[d] * ist[d];
      }
    }
    compact(p);
    return {l};
  }

  std::string impl_name() const override { return "cuda.map"; }

 private:
  // starts/ends/axes/steps (constant inputs 1-4) resolved and clamped as ONNX Slice specifies.
  void prepare_slice(const KernelSetup& s, size_t rank) {
    const Shape& shape = s.inputs[0]->shape;
    const std::vector<int64_t> starts = s.inputs.at(1)->constant->to_int64s();
    std::vector<int64_t> axes, steps(starts.size(), 1);
    if (s.inputs.size() > 3 && s.inputs[3]) axes = s.inputs[3]->constant->to_int64s();
    if (s.inputs.size() > 4 && s.inputs[4]) steps = s.inputs[4]->constant->to_int64s();
    if (axes.empty())
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    start_.assign(rank, 0);
    step_.assign(rank, 1);
    for (size_t i = 0; i < axes.size(); ++i) {
      const int64_t ax = axes[i] < 0 ? axes[i] + static_cast<int64_t>(rank) : axes[i];
      const int64_t dim = shape.at(ax);
      int64_t b = starts[i] < 0 ? starts[i] + dim : starts[i];
      b = steps[i] > 0 ? std::clamp<int64_t>(b, 0, dim) : std::clamp<int64_t>(b, 0, dim - 1);
      start_[ax] = b;
      step_[ax] = steps[i];
    }
  }

  std::vector<MapLaunch> concat_launches(int64_t batch, const std::vector<int64_t>& ost) const {
    std::vector<MapLaunch> out;
    int64_t pos = 0;
    for (size_t k = 0; k < srcs_.size(); ++k) {
      const Source& src = srcs_[k];
      const bool c = src.spec.is_constant();
      const Shape id = c ? src.spec.shape : src.spec.shape_at(batch);
      MapLaunch l;
      l.input[0] = c ? -1 : static_cast<int>(k);
      l.constant[0] = c ? src.constant.buf.get() : nullptr;
      set_space(l.p, id);
      l.p.in[0] = broadcast_operand(c ? f32_desc() : elem_desc(src.spec), id,
                                    logical_strides(src.spec, id), id);
      l.p.out = broadcast_operand(elem_desc(out_), id, ost, id);
      l.p.out.offset = pos * ost[axis_];
      pos += id[axis_];
      compact(l.p);
      out.push_back(l);
    }
    return out;
  }

  // One launch per index: the input's slice at that index into the output's slice at j.
  std::vector<MapLaunch> gather_launches(const Shape& id, const std::vector<int64_t>& ist,
                                         const std::vector<int64_t>& ost) const {
    Shape space = id;
    space[axis_] = 1;
    std::vector<int64_t> out_st(id.size(), 0);
    for (size_t d = 0, o = 0; d < id.size(); ++d) {
      if (static_cast<int64_t>(d) == axis_ && scalar_index_) continue;
      out_st[d] = ost[o++];
    }
    std::vector<MapLaunch> out;
    for (size_t j = 0; j < index_.size(); ++j) {
      MapLaunch l;
      l.input[0] = 0;
      set_space(l.p, space);
      l.p.in[0] = broadcast_operand(elem_desc(srcs_[0].spec), id, ist, space);
      l.p.in[0].offset = index_[j] * ist[axis_];
      l.p.out.e = elem_desc(out_);
      for (size_t d = 0; d < id.size(); ++d) l.p.out.stride[d] = out_st[d];
      l.p.out.offset = static_cast<int64_t>(j) * out_st[axis_];
      compact(l.p);
      out.push_back(l);
    }
    return out;
  }

  OpKind op_ = OpKind::Identity;
  TensorSpec out_;
  std::vector<Source> srcs_;
  std::vector<int64_t> perm_, start_, step_, lo_, index_;
  int64_t axis_ = 0;
  bool scalar_index_ = false;
  float pad_value_ = 0.f;
};

bool all_constant(const Node& n, size_t from) {
  for (size_t i = from; i < n.inputs.size(); ++i)
    if (n.inputs[i] && !n.inputs[i]->is_constant()) return false;
  return true;
}

std::string move_supports(const Node& n, Precision) {
  if (n.inputs.empty() || !n.inputs[0] || n.outputs.empty()) return "missing input";
  const size_t rank = n.inputs[0]->shape.size();
  if (rank > static_cast<size_t>(kMapMaxRank) || n.outputs[0]->shape.size() > rank + 1)
    return str("rank above ", kMapMaxRank);
  // The batch dim may be anywhere (torch's attention moves it); it is never cut or extended.
  const int bd = n.inputs[0]->batch_axis();
  const bool batched = bd >= 0;
  if (n.op == OpKind::Concat) {
    if (axis_of(n, rank, 0) == bd && batched) return "concatenation along the batch";
    return "";
  }
  if (n.inputs[0]->is_constant()) return "constant input";
  if (!all_constant(n, 1)) return "parameters that are not constants";
  if (n.op == OpKind::Slice) {
    if (!n.has_input(1) || !n.has_input(2)) return "missing starts or ends";
    if (n.has_input(3) && batched)
      for (int64_t ax : n.inputs[3]->constant->to_int64s())
        if (ax == bd || ax == bd - static_cast<int64_t>(rank)) return "slices the batch dim";
    if (!n.has_input(3) && batched) return "slices the batch dim";
  } else if (n.op == OpKind::Pad) {
    if (n.attrs.has("mode") && n.attrs.s("mode") != "constant") return "mode " + n.attrs.s("mode");
    if (!n.has_input(1)) return "missing pads";
    if (n.has_input(3)) return "axes input";
    const auto pads = n.inputs[1]->constant->to_int64s();
    if (pads.size() != 2 * rank) return "pads of another rank";
    if (batched && (pads[bd] != 0 || pads[bd + rank] != 0)) return "pads the batch dim";
  } else if (n.op == OpKind::Gather) {
    if (!n.has_input(1) || n.inputs[1]->shape.size() > 1) return "indices of rank > 1";
    if (batched && axis_of(n, rank, 0) == bd) return "gathers along the batch";
  }
  return "";
}

}  // namespace

void register_layout_kernels(KernelRegistry& r) {
  auto make = [] { return std::make_unique<MoveKernel>(); };
  const auto passthrough = {Precision::kFp32, Precision::kFp16, Precision::kInt8};
  const auto fl = {Precision::kFp32, Precision::kFp16};
  add_kernel(r, OpKind::Concat, passthrough, move_supports, any_layout, make);
  // A plain output: NHWC -> [N, H, W, C] (channels-last models) is then a straight copy.
  auto plain_out = [](const Node& n) {
    KernelFormats f = any_layout(n);
    f.output_follows_input = false;
    f.output_layout = Layout::kPlain;
    return f;
  };
  add_kernel(r, OpKind::Transpose, passthrough, move_supports, plain_out, make);
  for (OpKind op : {OpKind::Slice, OpKind::Pad, OpKind::Gather})
    add_kernel(r, op, fl, move_supports, any_layout, make);
}

}  // namespace mpq::cuda
