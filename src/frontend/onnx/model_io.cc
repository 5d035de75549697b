#include "frontend/onnx/model_io.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/input_file.h"
#include "core/status.h"
#include "frontend/onnx/tensor_proto.h"

namespace mpq::onnx_io {

namespace fs = std::filesystem;

namespace {

// onnx's messages span several lines: fold them into one.
std::string one_line(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// The node an onnx checker/inference message concerns, when it says.
std::string node_in_message(const std::string& msg) {
  static const std::regex kPatterns[] = {std::regex(R"(node name: ([^)\s]*)\))"),
                                         std::regex(R"(Name: ?(\S*) OpType)"),
                                         std::regex(R"(of node:? ?name: ?(\S+))")};
  std::smatch m;
  for (const auto& re : kPatterns)
    if (std::regex_search(msg, m, re) && m[1].length() > 0) return m[1].str();
  return "";
}

std::string node_label(const onnx::NodeProto& n) {
  return n.name().empty() ? str(n.op_type(), " (unnamed, outputs ",
                                n.output_size() ? n.output(0) : std::string("none"), ")")
                          : n.name();
}

void load_tensor_data(onnx::TensorProto* t, const fs::path& base, const std::string& file) {
  if (t->data_location() != onnx::TensorProto::EXTERNAL) return;
  if (base.empty())
    invalid_input(
        "tensor keeps its data in an external file, but the model was given as bytes "
        "without its folder: load it from a file path")
        .file(file)
        .key(t->name())
        .raise();
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& e : t->external_data()) {
    try {
      if (e.key() == "location") location = e.value();
      if (e.key() == "offset") offset = std::stoll(e.value());
      if (e.key() == "length") length = std::stoll(e.value());
    } catch (const std::exception&) {
      invalid_input(str("external_data entry '", e.key(), "' is not a number: '", e.value(), "'"))
          .file(file)
          .key(t->name())
          .raise();
    }
  }
  if (location.empty())
    invalid_input("external data has no 'location'").file(file).key(t->name()).raise();
  fs::path rel(location);
  bool escapes = rel.is_absolute();
  for (const auto& part : rel) escapes |= part == "..";
  if (escapes)
    invalid_input(str("external data location '", location,
                      "' must be a relative path inside the model's folder"))
        .file(file)
        .key(t->name())
        .raise();
  fs::path data_path = base / rel;
  std::error_code ec;
  if (!fs::is_regular_file(data_path, ec))
    not_found(str("initializer data file '", data_path.string(),
                  "' does not exist (missing initializer): keep the data file next to the model"))
        .file(file)
        .key(t->name())
        .raise();
  int64_t size = static_cast<int64_t>(fs::file_size(data_path, ec));
  if (length < 0) length = size - offset;
  if (offset < 0 || length < 0 || offset + length > size)
    invalid_input(str("external data range [", offset, ", ", offset + length, ") lies outside '",
                      data_path.string(), "' (", size, " bytes): the data file is truncated"))
        .file(file)
        .key(t->name())
        .raise();
  std::ifstream f(data_path, std::ios::binary);
  std::string bytes(static_cast<size_t>(length), '\0');
  f.seekg(offset);
  if (!f.read(bytes.data(), length))
    invalid_input(str("cannot read external data from '", data_path.string(), "'"))
        .file(file)
        .key(t->name())
        .raise();
  t->set_raw_data(std::move(bytes));
  t->clear_external_data();
  t->set_data_location(onnx::TensorProto::DEFAULT);
}

}  // namespace

onnx::ModelProto parse_model_bytes(const std::string& bytes, const std::string& name) {
  onnx::ModelProto m;
  if (bytes.empty()) invalid_input("file is empty, not an ONNX model").file(name).raise();
  if (!m.ParseFromString(bytes))
    invalid_input("not an ONNX model: protobuf parsing failed (truncated or not an .onnx file)")
        .file(name)
        .raise();
  if (!m.has_graph() || m.ir_version() <= 0)
    invalid_input("not an ONNX model: no graph or no ir_version (truncated or not an .onnx file)")
        .file(name)
        .raise();
  return m;
}

onnx::ModelProto read_model_file(const std::string& path) {
  return parse_model_bytes(read_input_file(path, "model file (.onnx)"), path);
}

std::map<std::string, int64_t> model_opsets(const onnx::ModelProto& m, const std::string& file) {
  std::map<std::string, int64_t> out;
  for (const auto& o : m.opset_import()) {
    std::string dom = o.domain() == "ai.onnx" ? "" : o.domain();
    if (out.count(dom))
      invalid_input(str("opset_import lists domain '", dom, "' twice"))
          .file(file)
          .key("opset_import")
          .raise();
    out[dom] = o.version();
  }
  auto it = out.find("");
  if (it == out.end())
    invalid_input("model imports no opset of the default ONNX domain (opset_import)")
        .file(file)
        .key("opset_import")
        .raise();
  if (it->second < kMinOpset || it->second > kMaxOpset)
    invalid_input(str("unknown opset ", it->second, ": mpq reads ONNX opsets ", kMinOpset, "..",
                      kMaxOpset, " (re-export the model with opset 13..17)"))
        .file(file)
        .key("opset_import")
        .raise();
  return out;
}

void load_external_data(onnx::ModelProto* m, const std::string& base_dir, const std::string& file) {
  fs::path base = base_dir;
  auto* g = m->mutable_graph();
  for (auto& t : *g->mutable_initializer()) load_tensor_data(&t, base, file);
  for (auto& n : *g->mutable_node())
    for (auto& a : *n.mutable_attribute())
      if (a.has_t()) load_tensor_data(a.mutable_t(), base, file);
}

void precheck_graph(const onnx::GraphProto& g, const std::string& file) {
  if (g.node_size() == 0)
    invalid_input(str("graph '", g.name(), "' has no nodes: nothing to run")).file(file).raise();
  if (g.output_size() == 0)
    invalid_input(str("graph '", g.name(), "' has no outputs")).file(file).raise();
  for (const auto& t : g.initializer()) validate_tensor_proto(t);
  for (const auto& n : g.node())
    for (const auto& a : n.attribute())
      if (a.has_t()) {
        try {
          validate_tensor_proto(a.t());
        } catch (const Error& e) {
          throw Error(e.status()).with_node(node_label(n));
        }
      }
  std::unordered_map<std::string, int> producer;  // value -> node index (-1: input/initializer)
  for (const auto& v : g.input()) producer[v.name()] = -1;
  for (const auto& t : g.initializer()) producer[t.name()] = -1;
  for (int i = 0; i < g.node_size(); ++i)
    for (const auto& o : g.node(i).output()) {
      if (o.empty()) continue;
      if (producer.count(o))
        invalid_input(str("value '", o, "' is produced more than once (by this node and ",
                          producer[o] < 0 ? std::string("a graph input/initializer")
                                          : "node " + node_label(g.node(producer[o])),
                          ")"))
            .file(file)
            .node(node_label(g.node(i)))
            .raise();
      producer[o] = i;
    }
  // Dangling inputs, and dependency counts for the cycle check (Kahn's algorithm).
  std::vector<int> pending(g.node_size(), 0);
  std::vector<std::vector<int>> users(g.node_size());
  for (int i = 0; i < g.node_size(); ++i)
    for (const auto& in : g.node(i).input()) {
      if (in.empty()) continue;
      auto it = producer.find(in);
      if (it == producer.end())
        invalid_input(str("input '", in,
                          "' is not a graph input, an initializer or the output of any node "
                          "(dangling value or missing initializer)"))
            .file(file)
            .node(node_label(g.node(i)))
            .raise();
      if (it->second >= 0) ++pending[i], users[it->second].push_back(i);
    }
  for (const auto& o : g.output())
    if (!producer.count(o.name()))
      invalid_input("graph output is never produced (dangling value)")
          .file(file)
          .key(o.name())
          .raise();
  std::vector<int> ready;
  for (int i = 0; i < g.node_size(); ++i)
    if (pending[i] == 0) ready.push_back(i);
  int done = 0;
  while (!ready.empty()) {
    int i = ready.back();
    ready.pop_back();
    ++done;
    for (int u : users[i])
      if (--pending[u] == 0) ready.push_back(u);
  }
  if (done != g.node_size())
    for (int i = 0; i < g.node_size(); ++i)
      if (pending[i] > 0)
        invalid_input("graph has a cycle through this node (an ONNX graph must be acyclic)")
            .file(file)
            .node(node_label(g.node(i)))
            .raise();
}

bool run_onnx_checks(onnx::ModelProto* m, bool checker, bool shape_inference,
                     const std::string& file) {
  int64_t opset = 0;
  for (const auto& o : m->opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset > kLibOnnxMaxOpset || m->ir_version() > onnx::IR_VERSION) return false;
  if (checker) {
    try {
      onnx::checker::check_model(*m);
    } catch (const std::exception& e) {
      std::string msg = one_line(e.what());
      invalid_input("onnx checker: " + msg).file(file).node(node_in_message(msg)).raise();
    }
  }
  if (shape_inference) {
    try {
      // Strict about shapes; not about type constraints, which old exporters broke in harmless
      // ways (pytorch 0.3 wrote int64 Constants at opset 6) and which mpq's ops check themselves.
      onnx::ShapeInferenceOptions opts(/*check_type=*/false, /*error_mode=*/1,
                                       /*enable_data_propagation=*/false);
      onnx::shape_inference::InferShapes(*m, onnx::OpSchemaRegistry::Instance(), opts);
    } catch (const std::exception& e) {
      std::string msg = one_line(e.what());
      invalid_input("onnx shape inference: " + msg).file(file).node(node_in_message(msg)).raise();
    }
  }
  return true;
}

}  // namespace mpq::onnx_io
