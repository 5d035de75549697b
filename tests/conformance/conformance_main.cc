// ONNX conformance: runs the node tests shipped by Debian's libonnx-testdata through mpq's importer
// and reference executor, and compares with the expected outputs. For each test:
//   - skipped (unsupported op): some op is not in the registry at the model's opset;
//   - skipped (unsupported variant): the importer rejected a node through its op's
//     unsupported_reason / attribute schema / dtype (allowed, listed with the reason);
//   - skipped (bad test data): a data set contradicts the model's declared inputs (a few ONNX 1.12
//     tests feed a shape the model does not declare; mpq checks inputs, onnx's runner does not);
//   - failed: anything else that goes wrong with a model whose ops are all in the registry
//     (import error, run error, wrong shape/dtype/values, export round trip differs);
//   - passed.
// Prints a per-op table, optionally writes it as Markdown (--markdown docs/conformance.md), and
// exits 1 if any test failed.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "backends/reference/executor.h"
#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/model_io.h"
#include "frontend/onnx/tensor_proto.h"
#include "ir/op_def.h"

namespace fs = std::filesystem;
using namespace mpq;

namespace {

enum class Outcome { kPassed, kFailed, kSkippedOp, kSkippedVariant, kBadData };

struct TestResult {
  std::string suite, name;
  std::set<std::string> ops;  // op types in the model ("domain::Op" outside ai.onnx)
  Outcome outcome = Outcome::kPassed;
  std::string detail;  // reason for a skip or a failure
};

struct Tolerance {
  double rtol = 1e-3, atol = 1e-5;
};

std::string op_key(const onnx::NodeProto& n) {
  std::string dom = n.domain() == "ai.onnx" ? "" : n.domain();
  return dom.empty() ? n.op_type() : dom + "::" + n.op_type();
}

// Compares one output; returns "" when it matches, else what differs.
std::string compare(const Tensor& got, const Tensor& want, const Tolerance& tol) {
  if (got.dtype() != want.dtype())
    return str("dtype ", dtype_name(got.dtype()), ", expected ", dtype_name(want.dtype()));
  if (got.shape() != want.shape())
    return str("shape ", shape_str(got.shape()), ", expected ", shape_str(want.shape()));
  const bool is_float = dtype_info(got.dtype()).is_float;
  const size_t n = static_cast<size_t>(got.numel());
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    double a = load_as_double(got.raw(), got.dtype(), i);
    double b = load_as_double(want.raw(), want.dtype(), i);
    bool ok;
    if (!is_float)
      ok = a == b;
    else if (std::isnan(b) || std::isnan(a))
      ok = std::isnan(a) && std::isnan(b);
    else if (std::isinf(b) || std::isinf(a))
      ok = a == b;
    else
      ok = std::abs(a - b) <= tol.atol + tol.rtol * std::abs(b);
    if (!ok) {
      if (bad++ == 0) first = i;
      if (!std::isnan(a - b)) worst = std::max(worst, std::abs(a - b));
    }
  }
  if (!bad) return "";
  std::ostringstream os;
  os << std::setprecision(9) << bad << " of " << n << " values differ (first at " << first
     << ": got " << load_as_double(got.raw(), got.dtype(), first) << ", expected "
     << load_as_double(want.raw(), want.dtype(), first) << "; max abs diff " << worst << ")";
  return os.str();
}

// Reads input_N.pb / output_N.pb. The test data stores bfloat16 tensors as UINT16 bit patterns
// (numpy has no bfloat16): those are read as bf16 where the model's value is bf16.
std::vector<Tensor> read_set(const fs::path& dir, const char* prefix,
                             const std::vector<Value*>& values) {
  std::vector<Tensor> out;
  for (size_t i = 0;; ++i) {
    fs::path p = dir / str(prefix, "_", i, ".pb");
    if (!fs::exists(p)) break;
    onnx::TensorProto t;
    std::ifstream f(p, std::ios::binary);
    if (!t.ParseFromIstream(&f))
      invalid_input("not a serialized TensorProto").file(p.string()).raise();
    if (t.data_type() == onnx::TensorProto::UINT16 && i < values.size() &&
        values[i]->dtype == DType::bf16)
      t.set_data_type(onnx::TensorProto::BFLOAT16);
    try {
      out.push_back(onnx_io::tensor_from_proto(t));
    } catch (const Error& e) {
      throw e.with_file(p.string());
    }
  }
  return out;
}

void run_test(const fs::path& dir, TestResult& r, const Tolerance& tol, bool roundtrip) {
  const std::string model_path = (dir / "model.onnx").string();
  onnx::ModelProto proto = onnx_io::read_model_file(model_path);
  std::map<std::string, int64_t> opsets;
  for (const auto& o : proto.opset_import())
    opsets[o.domain() == "ai.onnx" ? "" : o.domain()] = o.version();
  std::set<std::string> missing;
  for (const auto& n : proto.graph().node()) {
    r.ops.insert(op_key(n));
    std::string dom = n.domain() == "ai.onnx" ? "" : n.domain();
    int64_t opset = opsets.count(dom) ? opsets[dom] : 0;
    if (!find_onnx_op(dom, n.op_type(), static_cast<int>(opset)))
      missing.insert(str(op_key(n), " (opset ", opset, ")"));
  }
  if (!missing.empty()) {
    r.outcome = Outcome::kSkippedOp;
    for (const auto& m : missing) r.detail += (r.detail.empty() ? "needs " : ", ") + m;
    return;
  }
  std::vector<UnsupportedNode> unsupported;
  ImportOptions opts;
  opts.collect_unsupported = &unsupported;
  std::unique_ptr<Graph> g;
  try {
    g = import_onnx(model_path, opts);
  } catch (const Error& e) {
    r.outcome = Outcome::kFailed;
    r.detail = str("import: ", e.status().to_string());
    return;
  }
  if (!unsupported.empty()) {
    r.outcome = Outcome::kSkippedVariant;
    r.detail = format_unsupported(unsupported);
    return;
  }
  std::unique_ptr<Graph> g2;
  if (roundtrip) {
    try {
      g2 = import_onnx_bytes(export_onnx_bytes(*g), model_path + " (re-exported)");
    } catch (const Error& e) {
      r.outcome = Outcome::kFailed;
      r.detail = str("export round trip: ", e.status().to_string());
      return;
    }
  }
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  for (const auto& set : sets) {
    std::vector<Tensor> inputs = read_set(set, "input", g->inputs());
    std::vector<Tensor> want = read_set(set, "output", g->outputs());
    try {
      check_run_inputs(*g, inputs);
    } catch (const Error& e) {
      r.outcome = Outcome::kBadData;
      r.detail = str(set.filename().string(), ": ", e.status().to_string());
      return;
    }
    std::vector<Tensor> got;
    try {
      got = ReferenceExecutor(*g).run(inputs);
    } catch (const Error& e) {
      r.outcome = Outcome::kFailed;
      r.detail = str(set.filename().string(), ": run: ", e.status().to_string());
      return;
    }
    if (got.size() != want.size()) {
      r.outcome = Outcome::kFailed;
      r.detail = str(got.size(), " outputs, expected ", want.size());
      return;
    }
    for (size_t i = 0; i < got.size(); ++i) {
      std::string diff = compare(got[i], want[i], tol);
      if (!diff.empty()) {
        r.outcome = Outcome::kFailed;
        r.detail = str(set.filename().string(), ": output ", i, " ('", g->outputs()[i]->name,
                       "'): ", diff);
        return;
      }
    }
    if (g2) {
      std::vector<Tensor> again;
      try {
        again = ReferenceExecutor(*g2).run(inputs);
      } catch (const Error& e) {
        r.outcome = Outcome::kFailed;
        r.detail = str("export round trip: run: ", e.status().to_string());
        return;
      }
      for (size_t i = 0; i < got.size(); ++i)
        if (!compare(again[i], got[i], {0, 0}).empty()) {
          r.outcome = Outcome::kFailed;
          r.detail = str("export round trip: output ", i, " differs after re-import");
          return;
        }
    }
  }
}

struct OpRow {
  int passed = 0, failed = 0, skipped_op = 0, skipped_variant = 0, bad_data = 0;
  int total() const { return passed + failed + skipped_op + skipped_variant + bad_data; }
};

std::string escape_md(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else
      out += c;
  }
  return out;
}

std::string markdown(const std::vector<TestResult>& results,
                     const std::map<std::string, OpRow>& rows, const std::string& data_dir,
                     const Tolerance& tol) {
  std::ostringstream md;
  int counts[5] = {0, 0, 0, 0, 0};
  for (const auto& r : results) ++counts[static_cast<int>(r.outcome)];
  md << "# ONNX conformance\n\n"
     << "Generated by `mpq_conformance --markdown` over `" << data_dir
     << "` (Debian's libonnx-testdata: node, pytorch-converted and pytorch-operator tests). Each "
        "test is imported, run with the reference executor and compared with the expected outputs "
        "(float: |got - expected| <= "
     << tol.atol << " + " << tol.rtol
     << " * |expected|; integers exact); passing models are also exported, re-imported and re-run "
        "(outputs must be identical).\n\n"
     << "Totals: " << results.size() << " tests, **" << counts[0] << " passed**, " << counts[1]
     << " failed, " << counts[3] << " skipped as an unsupported variant, " << counts[2]
     << " skipped because an op is not in the registry, " << counts[4]
     << " skipped because the test data contradicts its model.\n\n"
     << "## Ops in the registry\n\n"
     << "A test counts under every op its model contains.\n\n"
     << "| op | passed | failed | unsupported variant | needs another op "
        "|\n|---|---|---|---|---|\n";
  for (const OpDef* d : all_op_defs()) {
    if (d->onnx.op_type.empty() || d->onnx.domain == "ai.mpq") continue;  // mpq-internal ops
    std::string key =
        d->onnx.domain.empty() ? d->onnx.op_type : d->onnx.domain + "::" + d->onnx.op_type;
    auto it = rows.find(key);
    OpRow row = it == rows.end() ? OpRow{} : it->second;
    md << "| " << key << " | " << row.passed << " | " << row.failed << " | " << row.skipped_variant
       << " | " << row.skipped_op << " |\n";
  }
  md << "\n## Unsupported variants (rejected at import, with the reason)\n\n";
  for (const auto& r : results)
    if (r.outcome == Outcome::kSkippedVariant)
      md << "- `" << r.suite << "/" << r.name << "`: " << escape_md(r.detail) << "\n";
  md << "\n## Test data that contradicts its model (skipped)\n\n";
  for (const auto& r : results)
    if (r.outcome == Outcome::kBadData)
      md << "- `" << r.suite << "/" << r.name << "`: " << escape_md(r.detail) << "\n";
  md << "\n## Failures\n\n";
  bool any = false;
  for (const auto& r : results)
    if (r.outcome == Outcome::kFailed)
      md << "- `" << r.suite << "/" << r.name << "`: " << escape_md(r.detail) << "\n", any = true;
  if (!any) md << "None.\n";
  md << "\n## Op types not in the registry\n\n";
  std::map<std::string, int> not_in;
  for (const auto& [op, row] : rows) {
    bool known = false;
    for (const OpDef* d : all_op_defs())
      known |= (d->onnx.domain.empty() ? d->onnx.op_type
                                       : d->onnx.domain + "::" + d->onnx.op_type) == op;
    if (!known) not_in[op] = row.total();
  }
  std::string sep;
  for (const auto& [op, n] : not_in) md << sep << op << " (" << n << ")", sep = ", ";
  md << "\n";
  return md.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs libonnx-testdata's node tests through mpq's importer and reference executor"};
  std::string data_dir = "/usr/share/libonnx-testdata/data";
  std::vector<std::string> suites = {"node", "pytorch-converted", "pytorch-operator"};
  std::string markdown_path, filter;
  bool verbose = false, no_roundtrip = false;
  Tolerance tol;
  app.add_option("--data", data_dir, "Folder holding the test suites")->capture_default_str();
  app.add_option("--suites", suites, "Suites (sub-folders) to run")->capture_default_str();
  app.add_option("--markdown", markdown_path, "Write the summary as Markdown to this file");
  app.add_option("--filter", filter, "Run only tests whose name contains this");
  app.add_option("--rtol", tol.rtol, "Relative tolerance for float outputs")->capture_default_str();
  app.add_option("--atol", tol.atol, "Absolute tolerance for float outputs")->capture_default_str();
  app.add_flag("--no-roundtrip", no_roundtrip, "Skip the export/re-import check");
  app.add_flag("-v,--verbose", verbose, "Print every test, not only failures");
  CLI11_PARSE(app, argc, argv);

  auto t0 = std::chrono::steady_clock::now();
  std::vector<TestResult> results;
  for (const auto& suite : suites) {
    fs::path sdir = fs::path(data_dir) / suite;
    if (!fs::is_directory(sdir)) {
      std::cerr << "mpq_conformance: " << sdir.string()
                << ": no such folder (install libonnx-testdata: scripts/setup.sh)\n";
      return 2;
    }
    std::vector<fs::path> tests;
    for (const auto& e : fs::directory_iterator(sdir))
      if (fs::exists(e.path() / "model.onnx")) tests.push_back(e.path());
    std::sort(tests.begin(), tests.end());
    for (const auto& dir : tests) {
      TestResult r{suite, dir.filename().string(), {}, Outcome::kPassed, ""};
      if (!filter.empty() && r.name.find(filter) == std::string::npos) continue;
      try {
        run_test(dir, r, tol, !no_roundtrip);
      } catch (const Error& e) {
        r.outcome = Outcome::kFailed;
        r.detail = e.status().to_string();
      } catch (const std::exception& e) {
        r.outcome = Outcome::kFailed;
        r.detail = str("exception: ", e.what());
      }
      static const char* kLabel[] = {"PASS", "FAIL", "SKIP(op)", "SKIP(variant)", "SKIP(data)"};
      if (verbose || r.outcome == Outcome::kFailed)
        std::cout << kLabel[static_cast<int>(r.outcome)] << " " << suite << "/" << r.name
                  << (r.detail.empty() ? "" : ": " + r.detail) << "\n";
      results.push_back(std::move(r));
    }
  }

  std::map<std::string, OpRow> rows;
  for (const auto& r : results)
    for (const auto& op : r.ops) {
      OpRow& row = rows[op];
      switch (r.outcome) {
        case Outcome::kPassed:
          ++row.passed;
          break;
        case Outcome::kFailed:
          ++row.failed;
          break;
        case Outcome::kSkippedOp:
          ++row.skipped_op;
          break;
        case Outcome::kSkippedVariant:
          ++row.skipped_variant;
          break;
        case Outcome::kBadData:
          ++row.bad_data;
          break;
      }
    }
  int counts[5] = {0, 0, 0, 0, 0};
  for (const auto& r : results) ++counts[static_cast<int>(r.outcome)];
  std::cout << "\n" << std::left;
  std::cout << "op                         passed  failed  variant  needs-op\n";
  for (const auto& [op, row] : rows) {
    if (row.skipped_op == row.total() && !verbose) continue;  // op not in the registry
    std::string name = op.size() > 26 ? op.substr(0, 26) : op;
    name.resize(27, ' ');
    std::cout << name << std::setw(8) << row.passed << std::setw(8) << row.failed << std::setw(9)
              << row.skipped_variant << row.skipped_op << "\n";
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "\n"
            << results.size() << " tests: " << counts[0] << " passed, " << counts[1] << " failed, "
            << counts[3] << " skipped (unsupported variant), " << counts[2]
            << " skipped (op not in registry), " << counts[4] << " skipped (bad test data) in "
            << std::fixed << std::setprecision(1) << secs << " s\n";
  if (!markdown_path.empty()) {
    try {
      write_file_atomic(markdown_path, markdown(results, rows, data_dir, tol));
    } catch (const Error& e) {
      std::cerr << "mpq_conformance: " << e.status().to_string() << "\n";
      return 2;
    }
    std::cout << "wrote " << markdown_path << "\n";
  }
  return counts[1] ? 1 : 0;
}
