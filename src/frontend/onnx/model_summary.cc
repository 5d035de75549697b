#include "frontend/onnx/model_summary.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>
#include <unordered_set>

#include "ir/op_def.h"

namespace mpq {

namespace {

ModelSummary::Io io_of(const Value& v) {
  return {v.name, v.dtype, v.shape, v.has_type};
}

std::string type_str(const ModelSummary::Io& io) {
  return io.has_type ? std::string(dtype_name(io.dtype)) + shape_str(io.shape) : "?";
}

// 11689512 -> "11,689,512"
std::string grouped(int64_t v) {
  std::string s = std::to_string(v), out;
  int n = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (n && n % 3 == 0 && *it != '-') out += ',';
    out += *it, ++n;
  }
  return {out.rbegin(), out.rend()};
}

// 1.82e9 -> "1.82 G"
std::string si(double v) {
  const char* units[] = {" ", " k", " M", " G", " T"};
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, ++u;
  std::ostringstream os;
  os << std::setprecision(3) << v << units[u];
  return os.str();
}

nlohmann::json io_json(const ModelSummary::Io& io) {
  nlohmann::json j = {{"name", io.name}};
  if (io.has_type) {
    j["dtype"] = dtype_name(io.dtype);
    j["shape"] = io.shape;  // -1: dynamic
  } else {
    j["dtype"] = nullptr;
    j["shape"] = nullptr;
  }
  return j;
}

}  // namespace

int64_t node_macs(const Node& n) {
  const OpDef& d = n.def();
  if (!d.flops) return 0;
  for (const Value* v : n.inputs)
    if (v && (!v->has_type || !shape_is_static(v->shape))) return -1;
  for (const Value* v : n.outputs)
    if (!v->has_type || !shape_is_static(v->shape)) return -1;
  try {
    int64_t m = d.flops(n);
    return m < 0 ? -1 : m;
  } catch (const Error&) {
    return -1;
  }
}

ModelSummary summarize(const Graph& g, const ModelMeta& meta,
                       const std::vector<UnsupportedNode>& unsupported, const std::string& file) {
  ModelSummary s;
  s.file = file;
  s.meta = meta;
  s.unsupported = unsupported;
  for (const Value* v : g.inputs()) s.inputs.push_back(io_of(*v));
  for (const Value* v : g.outputs()) s.outputs.push_back(io_of(*v));
  std::map<std::string, int64_t> hist;
  std::unordered_set<const Value*> params;
  for (const auto& n : g.nodes()) {
    ++hist[n->op_name()];
    ModelSummary::NodeRow row{n->name, n->op_name(), n->module_path, {}, node_macs(*n)};
    for (const Value* o : n->outputs) row.outputs.push_back(io_of(*o));
    if (row.macs >= 0)
      s.macs += row.macs;
    else
      ++s.nodes_without_macs;
    s.nodes.push_back(std::move(row));
  }
  for (const auto& v : g.values())  // initializers of unsupported nodes count too
    if (v->is_constant() && !v->producer && v->dtype != DType::i64 && v->dtype != DType::boolean)
      params.insert(v.get());
  for (const auto& u : unsupported)
    if (!u.op_known && u.op_type != "input" && u.op_type != "initializer")
      ++hist[u.domain.empty() ? u.op_type : u.domain + "::" + u.op_type];
  for (const Value* p : params) {
    s.parameters += p->constant->numel();
    s.parameter_bytes += static_cast<int64_t>(p->constant->nbytes());
    ++s.parameter_tensors;
  }
  s.op_histogram.assign(hist.begin(), hist.end());
  std::stable_sort(s.op_histogram.begin(), s.op_histogram.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return s;
}

std::string summary_text(const ModelSummary& s, bool with_nodes) {
  std::ostringstream os;
  os << "model: " << s.file << "\n";
  os << "  producer " << (s.meta.producer_name.empty() ? "?" : s.meta.producer_name) << " "
     << s.meta.producer_version << ", ir_version " << s.meta.ir_version;
  for (const auto& [dom, v] : s.meta.opsets)
    os << ", opset " << (dom.empty() ? "" : dom + " ") << v;
  os << (s.meta.onnx_checked ? "" : " (onnx checker skipped: model newer than libonnx 1.12)")
     << "\n";
  os << "inputs:\n";
  for (const auto& io : s.inputs) os << "  " << io.name << "  " << type_str(io) << "\n";
  os << "outputs:\n";
  for (const auto& io : s.outputs) os << "  " << io.name << "  " << type_str(io) << "\n";
  int64_t total = 0;
  for (const auto& [op, n] : s.op_histogram) total += n;
  os << "ops: " << total << " nodes\n  ";
  for (size_t i = 0; i < s.op_histogram.size(); ++i)
    os << (i ? ", " : "") << s.op_histogram[i].first << " " << s.op_histogram[i].second;
  os << "\n";
  os << "parameters: " << grouped(s.parameters) << " in " << s.parameter_tensors << " tensors ("
     << std::fixed << std::setprecision(1) << s.parameter_bytes / (1024.0 * 1024.0) << " MiB)\n"
     << std::defaultfloat;
  os << "compute: " << si(static_cast<double>(s.macs)) << "MAC = " << si(2.0 * s.macs)
     << "FLOP per run";
  if (s.nodes_without_macs)
    os << " (" << s.nodes_without_macs << " nodes with dynamic or unknown shapes not counted)";
  os << "\n";
  if (s.unsupported.empty()) {
    os << "unsupported: none\n";
  } else {
    os << "unsupported: " << s.unsupported.size() << " (the model cannot run until these are "
       << "supported)\n";
    for (const auto& u : s.unsupported)
      os << "  " << u.name << "  " << (u.domain.empty() ? "" : u.domain + "::") << u.op_type
         << " (opset " << u.opset << ")"
         << (u.module_path.empty() ? "" : "  module " + u.module_path) << ": " << u.reason << "\n";
  }
  if (with_nodes) {
    size_t wn = 4, wo = 2, wm = 6;
    for (const auto& r : s.nodes) {
      wn = std::max(wn, r.name.size());
      wo = std::max(wo, r.op.size());
      wm = std::max(wm, r.module_path.size());
    }
    auto col = [&os](const std::string& v, size_t w) {
      os << std::left << std::setw(static_cast<int>(w)) << v << "  ";
    };
    os << "nodes:\n  ";
    col("name", wn), col("op", wo), col("module", wm), col("MACs", 9);
    os << "output\n";
    for (const auto& r : s.nodes) {
      os << "  ";
      col(r.name, wn), col(r.op, wo), col(r.module_path.empty() ? "-" : r.module_path, wm);
      col(r.macs < 0 ? "?" : r.macs == 0 ? "-" : si(static_cast<double>(r.macs)), 9);
      for (size_t i = 0; i < r.outputs.size(); ++i) os << (i ? ", " : "") << type_str(r.outputs[i]);
      os << "\n";
    }
  }
  return os.str();
}

nlohmann::json summary_json(const ModelSummary& s) {
  nlohmann::json j;
  j["file"] = s.file;
  j["producer"] = {{"name", s.meta.producer_name}, {"version", s.meta.producer_version}};
  j["ir_version"] = s.meta.ir_version;
  j["opsets"] = nlohmann::json::object();
  for (const auto& [dom, v] : s.meta.opsets) j["opsets"][dom.empty() ? "ai.onnx" : dom] = v;
  j["onnx_checked"] = s.meta.onnx_checked;
  j["inputs"] = nlohmann::json::array();
  for (const auto& io : s.inputs) j["inputs"].push_back(io_json(io));
  j["outputs"] = nlohmann::json::array();
  for (const auto& io : s.outputs) j["outputs"].push_back(io_json(io));
  j["op_histogram"] = nlohmann::json::object();
  for (const auto& [op, n] : s.op_histogram) j["op_histogram"][op] = n;
  j["parameters"] = s.parameters;
  j["parameter_bytes"] = s.parameter_bytes;
  j["macs"] = s.macs;
  j["flops"] = 2 * s.macs;
  j["nodes_without_macs"] = s.nodes_without_macs;
  j["unsupported"] = nlohmann::json::array();
  for (const auto& u : s.unsupported)
    j["unsupported"].push_back({{"name", u.name},
                                {"op_type", u.op_type},
                                {"domain", u.domain},
                                {"opset", u.opset},
                                {"reason", u.reason},
                                {"module_path", u.module_path},
                                {"op_known", u.op_known}});
  j["nodes"] = nlohmann::json::array();
  for (const auto& r : s.nodes) {
    nlohmann::json n = {{"name", r.name}, {"op", r.op}, {"module_path", r.module_path}};
    n["macs"] = r.macs >= 0 ? nlohmann::json(r.macs) : nlohmann::json(nullptr);
    n["outputs"] = nlohmann::json::array();
    for (const auto& o : r.outputs) n["outputs"].push_back(io_json(o));
    j["nodes"].push_back(std::move(n));
  }
  return j;
}

}  // namespace mpq
