#include "api/build_engine.h"

#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "api/layer_precision.h"
#include "api/ptq_calibration.h"
#include "api/unconfigured.h"
#include "core/input_file.h"
#include "frontend/onnx/qdq_import.h"
#include "quant/config_list.h"
#include "quant/model_hash.h"

namespace mpq::api {

const char* producer_string() {
  return "mpq 0.1.0";
}

quant::CalibrationTable read_table(const std::string& path, std::string* hash) {
  const std::string text = read_input_file(path, "calibration table (JSON)");
  if (hash) {
    quant::Fnv1a64 h;
    h.string(text);
    *hash = h.hex();
  }
  return quant::parse_calibration_table(text, path);
}

std::vector<std::string> apply_config_list(quant::CalibrationTable& t, const Graph& g,
                                           const std::string& config_path, bool lenient) {
  return apply_config_list(t, g, quant::ConfigList::parse_file(config_path, {lenient}),
                           config_path);
}

std::vector<std::string> apply_config_list(quant::CalibrationTable& t, const Graph& g,
                                           const quant::ConfigList& c,
                                           const std::string& config_path) {
  std::vector<std::string> warnings = c.warnings();
  quant::ResolvedConfig rc = c.resolve(g);
  warnings.insert(warnings.end(), rc.warnings.begin(), rc.warnings.end());
  // Keys the table already uses for a node (a node must keep one key: two keys naming one node
  // are an error when the table is resolved).
  std::unordered_map<const Node*, std::string> key_of;
  for (const quant::ResolvedLayer& rl : quant::resolve_layers(t, g)) key_of[rl.node] = rl.key;
  for (auto& [key, l] : t.layers) l.weight_bits = l.input_bits = l.output_bits = 0;
  for (const quant::NodeQuantSetting& s : rc.nodes) {
    auto it = key_of.find(s.node);
    const std::string key = it != key_of.end() ? it->second : quant::layer_key(g, *s.node);
    quant::LayerPrecision& l = t.layers[key];
    auto bits = [&](quant::QuantType type) {
      const quant::TypeSetting& ts = s.get(type);
      if (!ts.enabled) return 0;
      if (ts.bits != 4 && ts.bits != 8 && ts.bits != 16 && ts.bits != 32)
        invalid_input(str("layer '", key, "' gets ", ts.bits, "-bit ", quant_type_name(type),
                          " quantization; mpq runs 4, 8, 16 or 32 bits"))
            .file(config_path)
            .node(key)
            .key(str("[", s.entry, "].quant_bits"))
            .raise();
      return ts.bits;
    };
    l.weight_bits = bits(quant::QuantType::kWeight);
    l.input_bits = bits(quant::QuantType::kInput);
    l.output_bits = bits(quant::QuantType::kOutput);
    l.source = "config_list";
  }
  return warnings;
}

bool is_layer_dict_file(const std::string& path) {
  check_input_path(path, "config file (JSON)");
  std::ifstream f(path, std::ios::binary);
  if (!f) not_found("cannot open the config file").file(path).raise();
  char c = 0;
  while (f.get(c) && std::isspace(static_cast<unsigned char>(c))) {
  }
  return c == '{';
}

namespace {

// extra_layer_bits (NNI: every layer's precision when there is no config) and the choice for
// unconfigured layers, checked against the default precision.
void check_precision_options(BuildInputs& in, BuildOutput* out) {
  check_unconfigured(in.unconfigured, "unconfigured");
  const bool configured = in.table || !in.config_list.empty();
  if (auto p = extra_layer_precision(in.extra_layer_bits, "extra_layer_bits")) {
    if (configured)
      out->warnings.push_back(str("extra_layer_bits ", in.extra_layer_bits,
                                  " is ignored: a calibration config or config_list is given (as "
                                  "in NNI); unconfigured layers follow `unconfigured`"));
    else if (in.options.default_precision && *in.options.default_precision != *p)
      invalid_input("extra_layer_bits and the default precision disagree: pass one")
          .key("extra_layer_bits")
          .raise();
    else
      in.options.default_precision = p;
  }
  if (in.unconfigured == "fastest" && in.options.default_precision)
    invalid_input(
        "--unconfigured fastest and a default precision both choose the precision of unconfigured "
        "layers: pass one")
        .key("unconfigured")
        .raise();
}

// NNI's PTQ path: every tensor calibrated on in.calib_data; the PTQ dict (in.table) or the
// config_list gives the bits. Both are checked before the calibration work.
void calibrate_ptq(BuildInputs& in, BuildOutput* out) {
  const Graph& g = *in.graph;
  const std::string& m = in.calibrate.method;
  if (m != "entropy" && m != "minmax" && m != "percentile" && m != "mse")
    invalid_input(
        str("unknown calibrate type '", m, "' (expected entropy, minmax, percentile or mse)"))
        .key("calibrate_type")
        .raise();
  if (in.table) quant::resolve_layers(*in.table, g, in.calib_name);
  if (!in.config_list.empty())
    quant::ConfigList::parse_file(in.config_list, {in.lenient_config}).resolve(g);
  quant::CalibrationTable ranges =
      calibrate_for_build(g, in.calib_data, in.calibrate, in.calibration_cache, &out->notes);
  if (in.table) ranges.layers = std::move(in.table->layers);
  in.table = std::move(ranges);
}

// A QDQ model: its Q/DQ nodes become the table (fixed scales, int8 layers with source "qdq") and
// the float graph in `holder` is what gets built.
void import_qdq(BuildInputs& in, BuildOutput* out, std::unique_ptr<Graph>* holder) {
  if (in.table || !in.calib_data.empty())
    invalid_input(str(in.model_name, " is a QDQ model: its QuantizeLinear/DequantizeLinear nodes ",
                      "fix its quantization; build it without ",
                      in.table ? "--calib (" + in.calib_name + ")" : "--calib-data"))
        .file(in.model_name)
        .key(in.table ? "--calib" : "--calib-data")
        .raise();
  if (in.model_hash.empty()) in.model_hash = quant::model_hash(*in.graph);
  QdqImport q = strip_qdq(*in.graph, {in.lenient_qdq, in.model_name});
  int layers = 0;
  for (const auto& [key, l] : q.table.layers) layers += l.source == "qdq";
  out->notes.push_back(str("QDQ model: ", layers, " int8 layer(s), ", q.table.tensors.size(),
                           " activation and ", q.table.weights.size(),
                           " weight quantization(s) taken from its Q/DQ nodes"));
  out->notes.insert(out->notes.end(), q.notes.begin(), q.notes.end());
  *holder = std::move(q.graph);
  in.graph = holder->get();
  in.table = std::move(q.table);
}

}  // namespace

BuildOutput build_engine(BuildInputs in) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!in.graph) internal_error("build_engine: no graph").raise();
  BuildOutput out;
  std::unique_ptr<Graph> stripped;
  if (has_qdq(*in.graph)) import_qdq(in, &out, &stripped);
  const Graph& g = *in.graph;
  check_precision_options(in, &out);
  const auto rules = in.layer_precision.empty()
                         ? std::vector<LayerPrecisionRule>{}
                         : parse_layer_precisions(in.layer_precision, "--layer-precision");
  if (!in.calib_data.empty()) {
    quant::CalibrationTable scratch;  // the patterns are checked before calibrating
    apply_layer_precisions(scratch, g, rules, "--layer-precision");
    calibrate_ptq(in, &out);
  }
  if (in.model_hash.empty()) in.model_hash = quant::model_hash(g);
  if (in.table) {
    auto w = quant::check_table_matches(*in.table, g, in.force, in.calib_name);
    out.warnings.insert(out.warnings.end(), w.begin(), w.end());
    if (in.force) {
      // Forced: layers the model does not have are dropped (each with a warning) instead of
      // failing the build.
      for (auto it = in.table->layers.begin(); it != in.table->layers.end();) {
        quant::CalibrationTable one;
        one.layers.insert(*it);
        Result<int> r = capture([&] {
          quant::resolve_layers(one, g, in.calib_name);
          return 0;
        });
        if (r.ok()) {
          ++it;
          continue;
        }
        out.warnings.push_back(r.status().to_string() + " (layer ignored: --force)");
        it = in.table->layers.erase(it);
      }
    } else {
      quant::resolve_layers(*in.table, g, in.calib_name);  // errors name the table's file
    }
  }
  if (!in.config_list.empty()) {
    if (!in.table) in.table.emplace();
    auto w = apply_config_list(*in.table, g, in.config_list, in.lenient_config);
    out.warnings.insert(out.warnings.end(), w.begin(), w.end());
  }
  if (!rules.empty()) {
    if (!in.table) in.table.emplace();
    apply_layer_precisions(*in.table, g, rules, "--layer-precision");
  }
  try {
    const quant::CalibrationTable* t = in.table ? &*in.table : nullptr;
    out.engine = in.unconfigured == "fastest" ? build_fastest_float(g, t, in.options)
                                              : runtime::Engine::build(g, t, in.options);
  } catch (const Error& e) {
    // Missing ranges and --strict failures are about the table's contents: name its file.
    const std::string& msg = e.status().message;
    if (e.status().file.empty() && !in.calib_name.empty() &&
        (msg.find("range") != std::string::npos || msg.rfind("strict", 0) == 0))
      throw e.with_file(in.calib_name);
    throw;
  }
  // Said on stderr, not only in the manifest: a host step can make an engine slower than the
  // float model it replaces.
  const plan::StepCounts counts = plan::count_steps(out.engine->plan());
  if (counts.host_steps)
    out.warnings.push_back(str(counts.host_steps, " of ", counts.steps, " steps run on the host ",
                               "reference executor, not on ", in.options.backend, " (",
                               counts.host_summary(), "): `mpq inspect` says why"));
  for (const std::string& n : out.notes)
    out.engine = runtime::Engine::with_note(std::move(out.engine), n);
  out.info.producer = producer_string();
  out.info.model_name = in.model_name;
  out.info.model_hash = in.model_hash;
  out.info.calib_name = in.calib_name;
  out.info.calib_hash = in.calib_hash;
  out.info.config_name = in.config_list;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace mpq::api
