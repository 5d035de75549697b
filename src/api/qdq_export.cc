#include "api/qdq_export.h"

#include <cmath>

#include "data/file_io.h"
#include "frontend/onnx/exporter.h"
#include "frontend/onnx/qdq_export.h"
#include "frontend/onnx/qdq_import.h"
#include "ir/op_def.h"
#include "mpq/qdq.h"
#include "passes/pass.h"
#include "core/quant_math.h"

namespace mpq::api {

namespace {

bool quantized(const TensorSpec& t) {
  return (t.dtype == DType::u8 || t.dtype == DType::i8) && t.quant && t.quant->scale.size() == 1;
}

// mpq's weight scales, as its kernels choose them: max|w| / 127 per output channel of the float
// node's weight, or the scales the table fixed (the engine's weight spec carries them).
QuantParams weight_params(const Node& n, const TensorSpec& w, bool* narrow) {
  const int axis = n.def().weight_channel_axis ? n.def().weight_channel_axis(n) : 0;
  QuantParams p;
  *narrow = !w.quant;
  if (w.quant) {
    p = *w.quant;
    if (p.scale.size() > 1) p.axis = axis;
  } else {
    const Tensor& c = *n.inputs[1]->constant;
    const Tensor wf = c.dtype() == DType::f32 ? c : c.cast(DType::f32);
    const Shape& s = wf.shape();
    const int64_t channels = s.at(axis);
    int64_t inner = 1;
    for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
    std::vector<float> amax(channels, 0.f);
    for (int64_t i = 0; i < wf.numel(); ++i) {
      float& m = amax[(i / inner) % channels];
      m = std::max(m, std::fabs(wf.data<float>()[i]));
    }
    for (float a : amax)
      p.scale.push_back(
          quant::compute_scale_zero_point(-a, a, 8, quant::QuantDtype::kInt, true).scale);
    p.axis = axis;
  }
  p.zero_point.assign(p.scale.size(), 0);
  p.is_signed = true;
  return p;
}

// A residual sum fused into an int8 conv/gemm (its input 3) that the kernel reads in int8: the
// Q/DQ goes on the input of the absorbed Add that carries it (TensorRT's placement for a fused
// residual), so that the export computes the sum from the same int8 values.
void residual_qdq(const plan::Plan& plan, const plan::Step& st, const Graph& g,
                  std::map<std::string, NodeQdq>* out) {
  if (st.inputs.size() < 4 || st.inputs[3] < 0 || !quantized(plan.tensors[st.inputs[3]])) return;
  const Value* v = st.node->inputs[3];
  while (!g.find_value(v->name) && v->producer && v->producer->op == OpKind::Reorder)
    v = v->producer->inputs[0];
  for (const plan::LayerReport& row : plan.manifest.layers) {
    const Node* add = row.reason == "fused into " + st.node->name ? g.find_node(row.name) : nullptr;
    if (!add || add->def().weighted || add->def().quant != QuantRule::kRequant) continue;
    for (size_t i = 0; i < add->inputs.size(); ++i)
      if (add->inputs[i] && add->inputs[i]->name == v->name)
        (*out)[add->name].inputs[i] = *plan.tensors[st.inputs[3]].quant;
  }
}

// One NodeQdq per int8 step that is a node of the float graph: its quantized activation inputs
// (same input positions as the float node) and, for conv/gemm, its weight.
std::map<std::string, NodeQdq> int8_nodes(const plan::Plan& plan, const Graph& g,
                                          QdqExportSummary* sum) {
  std::map<std::string, NodeQdq> out;
  for (const plan::Step& st : plan.steps) {
    const Node* o = g.find_node(st.node->name);
    if (!o || o->def().quant != QuantRule::kRequant) continue;
    const bool weighted = has_constant_weight(*o);
    if (st.precision != Precision::kInt8) {
      sum->float_layers += weighted;
      continue;
    }
    NodeQdq q;
    for (size_t i = 0; i < o->inputs.size() && i < st.inputs.size(); ++i) {
      if (!o->inputs[i] || o->inputs[i]->is_constant() || st.inputs[i] < 0) continue;
      const TensorSpec& t = plan.tensors[st.inputs[i]];
      if (quantized(t)) q.inputs[i] = *t.quant;
    }
    if (weighted) q.weight = weight_params(*o, plan.tensors[st.inputs[1]], &q.narrow);
    if (q.inputs.empty()) continue;
    sum->int8_layers++;
    out[o->name] = q;
    residual_qdq(plan, st, g, &out);
  }
  return out;
}

}  // namespace

QdqExportSummary export_qdq(BuildInputs in, const std::string& path) {
  data::check_output_path(path);
  if (!in.graph) internal_error("export_qdq: no graph").raise();
  const Graph& g = *in.graph;
  if (has_qdq(g))
    invalid_input(str(in.model_name, " already has QuantizeLinear/DequantizeLinear nodes: ",
                      "export-qdq takes the float model"))
        .file(in.model_name)
        .raise();
  in.options.max_batch = 1;
  BuildOutput b = build_engine(std::move(in));
  QdqExportSummary sum;
  sum.warnings = b.warnings;
  sum.notes = b.notes;
  // The engine folds BatchNormalization into conv/gemm weights and quantizes the folded weights:
  // the export does the same folding, so its int8 weights are the engine's (and TensorRT's
  // explicit quantization expects batch norm folded).
  std::unique_ptr<Graph> folded = g.clone();
  passes::PassContext ctx;
  std::vector<std::unique_ptr<passes::Pass>> fold;
  fold.push_back(passes::make_fold_batchnorm());
  passes::run_passes(*folded, ctx, fold);
  const std::map<std::string, NodeQdq> nodes = int8_nodes(b.engine->plan(), *folded, &sum);
  std::unique_ptr<Graph> q = insert_qdq(*folded, nodes);
  for (const auto& n : q->nodes()) sum.activation_pairs += n->op == OpKind::QuantizeLinear;
  export_onnx(*q, path);
  return sum;
}

}  // namespace mpq::api

namespace mpq {

QdqExportResult export_qdq(const Model& model, const CalibrationSource& calibration,
                           const std::string& onnx_path, const QdqExportOptions& options) {
  api::BuildInputs in;
  in.graph = &model.graph();
  in.model_name = model.graph().name.empty() ? "model" : model.graph().name;
  if (!calibration.path().empty()) {
    in.table = api::read_table(calibration.path(), &in.calib_hash);
    in.calib_name = calibration.path();
  } else if (calibration.table()) {
    in.table = *calibration.table();
  }
  in.config_list = options.config_list;
  in.lenient_config = options.lenient_config;
  in.layer_precision = options.layer_precision;
  in.force = options.force;
  if (!options.default_precision.empty()) {
    in.options.default_precision = parse_precision(options.default_precision);
    if (!in.options.default_precision)
      invalid_input(str("unknown precision '", options.default_precision,
                        "' (expected fp32, bf16, fp16 or int8)"))
          .key("default_precision")
          .raise();
  }
  const api::QdqExportSummary s = api::export_qdq(std::move(in), onnx_path);
  QdqExportResult r;
  r.int8_layers = s.int8_layers;
  r.float_layers = s.float_layers;
  r.activation_pairs = s.activation_pairs;
  r.warnings = s.warnings;
  return r;
}

}  // namespace mpq
