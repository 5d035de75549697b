#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "plan/plan.h"

namespace mpq::plan {

std::string Manifest::to_table() const {
  std::ostringstream os;
  auto col = [&](const std::string& s, size_t w) {
    os << std::left << std::setw(static_cast<int>(w))
       << (s.size() > w - 1 ? s.substr(0, w - 2) + "~" : s);
  };
  col("layer", 28), col("op", 18), col("requested", 20), col("executed", 9), col("in->out", 10),
      col("kernel", 34);
  os << "reason\n";
  for (const LayerReport& r : layers) {
    col(r.module_path.empty() ? r.name : r.module_path, 28);
    col(r.op, 18);
    col(str(precision_name(r.requested), " (", r.source, ")"), 20);
    col(precision_name(r.executed), 9);
    col(r.input_dtype.empty() ? "" : r.input_dtype + ">" + r.output_dtype, 10);
    col(r.impl.empty() ? r.kernel : r.impl, 34);
    os << r.reason << "\n";
  }
  os << std::fixed << std::setprecision(2)
     << "average bits (weighted layers, by parameters): " << average_bits << "\n";
  for (const auto& n : notes) os << "note: " << n << "\n";
  return os.str();
}

std::string Manifest::to_json() const {
  nlohmann::ordered_json j;
  j["average_bits"] = average_bits;
  j["notes"] = notes;
  auto& arr = j["layers"] = nlohmann::ordered_json::array();
  for (const LayerReport& r : layers) {
    nlohmann::ordered_json l;
    l["name"] = r.name;
    l["module_path"] = r.module_path;
    l["op"] = r.op;
    l["requested"] = precision_name(r.requested);
    l["source"] = r.source;
    l["executed"] = precision_name(r.executed);
    l["backend"] = r.backend;
    l["kernel"] = r.impl.empty() ? r.kernel : r.impl;
    l["kernel_id"] = r.kernel;
    l["fused"] = r.fused;
    l["input_dtype"] = r.input_dtype;
    l["output_dtype"] = r.output_dtype;
    l["reason"] = r.reason;
    arr.push_back(l);
  }
  return j.dump(2);
}

std::string StepCounts::host_summary() const {
  std::string s;
  for (const auto& [op, n] : host_ops) s += str(s.empty() ? "" : ", ", op, " x", n);
  return s;
}

StepCounts count_steps(const Plan& p) {
  StepCounts c;
  for (const Step& st : p.steps) {
    ++c.steps;
    if (st.node->op == OpKind::Reorder) ++c.boundaries;
    if (st.backend != p.options.backend) {
      ++c.host_steps;
      ++c.host_ops[st.node->op_name()];
    }
  }
  return c;
}

}  // namespace mpq::plan
