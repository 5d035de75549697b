#include "demo/table.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/staged_outputs.h"
#include "core/status.h"
#include "data/file_io.h"
#include "demo/svg_plot.h"

namespace mpq::demo {

namespace {

std::string percent(double v) {
  return v < 0 ? "-" : fixed(100.0 * v, 2) + "%";
}

std::string bits_cell(const DemoRow& row) {
  return row.layers > 0 ? str(fixed(row.mean_bits, 1), " / ", fixed(row.weighted_bits, 1)) : "-";
}

std::string speedup_cell(const DemoRow& row) {
  return row.speedup > 0 ? fixed(row.speedup, 2) + "x" : "-";
}

std::string thousands(int64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string dataset_title(const DemoReport& r) {
  return r.options.train_data.rfind("fashion-mnist", 0) == 0 ? "Fashion-MNIST"
                                                             : r.options.train_data;
}

// Lines describing how the numbers were made (shared by the terminal and Markdown outputs).
std::vector<std::string> header_lines(const DemoReport& r) {
  const DemoOptions& o = r.options;
  std::vector<std::string> h;
  h.push_back(str("model: ", o.model, " (", thousands(r.model_parameters), " parameters), data: ",
                  dataset_title(r), r.options.model == "resnet18_cifar" ? " as 3x32x32" : ""));
  std::string train =
      str("float training: ", o.epochs, " epoch(s) on ", r.train_desc, ", ", r.float_recipe);
  if (o.train_limit > 0)
    train += str("; only the first ", o.train_limit, " training images (--train-limit)");
  h.push_back(train);
  h.push_back(str("QAT: ", o.qat_epochs, " epoch(s) from the float model, ", r.qat_recipe));
  h.push_back(str("PTQ: ", r.calib_desc));
  h.push_back(str("test: ", r.test_desc));
  h.push_back(str("engines: backend ", o.backend, ", ", r.threads, " threads, batch ", o.batch,
                  "; machine: ", r.machine));
  h.push_back(str("latency: ", r.timing));
  if (!r.load_start.empty())
    h.push_back(str("load average (1/5/15 min): ", r.load_start, " at the start, ", r.load_end,
                    " at the end"));
  if (r.busy) {
    std::string w = str("busy machine: load ", r.load_start.substr(0, r.load_start.find(' ')),
                        " on ", r.cores, " cores, so latencies are inflated and noisy");
    std::string policy = r.omp_wait_policy;
    for (char& c : policy) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (policy != "passive")
      w +=
          "; OpenMP threads spin while they wait (OMP_WAIT_POLICY=passive helps on a busy machine)";
    else if (std::getenv("MPQ_SET_WAIT_POLICY"))
      w += "; mpq demo set OMP_WAIT_POLICY=passive for that (export OMP_WAIT_POLICY to choose)";
    h.push_back(w);
  }
  if (o.quick) h.push_back("quick run (--quick): fewer images and timing runs than the full demo");
  return h;
}

struct Column {
  std::string title;
  bool right = false;
};

std::string pad(const std::string& s, size_t w, bool right) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

}  // namespace

std::string fixed(double v, int digits) {
  if (v < 0) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string render_terminal(const DemoReport& r) {
  const std::vector<Column> cols = {{"strategy"},         {"method"},
                                    {"variant"},          {"avg bits (mean / weighted)", true},
                                    {"latency ms", true}, {"speedup", true},
                                    {"accuracy", true}};
  std::vector<std::vector<std::string>> cells;
  for (const DemoRow& row : r.rows) {
    if (!row.ok) {
      cells.push_back({row.strategy, row.method, row.id, "failed: " + row.error});
      continue;
    }
    cells.push_back({row.strategy, row.method, row.id, bits_cell(row), fixed(row.latency_ms, 3),
                     speedup_cell(row), percent(row.accuracy)});
  }
  std::vector<size_t> w(cols.size());
  for (size_t c = 0; c < cols.size(); ++c) w[c] = cols[c].title.size();
  for (const auto& line : cells)
    if (line.size() == cols.size())
      for (size_t c = 0; c < cols.size(); ++c) w[c] = std::max(w[c], line[c].size());
  std::ostringstream os;
  os << "mpq demo: all in 32bit vs mixed precision vs all in 8bit, QAT and PTQ\n";
  for (const auto& l : header_lines(r)) os << "  " << l << "\n";
  os << "\n";
  auto put = [&](const std::vector<std::string>& line) {
    std::string s;
    for (size_t c = 0; c < line.size(); ++c) {
      const bool last = c + 1 == line.size();
      s += (c ? "  " : "") +
           (last && line.size() < cols.size() ? line[c] : pad(line[c], w[c], cols[c].right));
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    os << s << "\n";
  };
  std::vector<std::string> titles;
  for (const auto& c : cols) titles.push_back(c.title);
  put(titles);
  size_t total = 0;
  for (size_t c = 0; c < w.size(); ++c) total += w[c] + (c ? 2 : 0);
  os << std::string(total, '-') << "\n";
  for (const auto& line : cells) put(line);
  os << "\n";
  for (const DemoRow& row : r.rows)
    if (row.ok) os << "  " << row.id << ": " << row.precisions << "\n";
  os << "  total " << fixed(r.total_seconds, 1) << " s; results in " << r.options.out_dir << "/\n";
  return os.str();
}

std::string render_markdown(const DemoReport& r) {
  std::ostringstream os;
  os << "# mpq demo: " << r.options.model << " on " << dataset_title(r) << "\n\n";
  for (const auto& l : header_lines(r)) os << "- " << l << "\n";
  os << "- started " << r.started_at << ", total " << fixed(r.total_seconds, 1) << " s\n\n";
  os << "| strategy | method | variant | average bits (mean / weighted) | latency (ms, median) | "
        "p10-p90 (ms) | speedup vs fp32 | accuracy | top-1 agreement with fp32 |\n";
  os << "|---|---|---|---|---|---|---|---|---|\n";
  for (const DemoRow& row : r.rows) {
    os << "| " << row.strategy << " | " << row.method << " | " << row.id << " | ";
    if (!row.ok) {
      std::string e = row.error;
      std::replace(e.begin(), e.end(), '|', '/');
      os << "- | failed: " << e << " | - | - | - | - |\n";
      continue;
    }
    os << bits_cell(row) << " | " << fixed(row.latency_ms, 3) << " | " << fixed(row.p10_ms, 3)
       << "-" << fixed(row.p90_ms, 3) << " | " << speedup_cell(row) << " | "
       << percent(row.accuracy) << " | " << percent(row.agreement) << " |\n";
  }
  os << "\n## Variants\n\n";
  for (const DemoRow& row : r.rows) {
    os << "- **" << row.id << "** (" << row.method << ", " << row.strategy
       << "): " << row.description;
    if (row.ok) os << ". Executed: " << row.precisions;
    if (row.simulated_accuracy >= 0)
      os << ". QAT model (fake-quantized) accuracy " << percent(row.simulated_accuracy);
    if (!row.config_file.empty())
      os << ". config_list `" << std::filesystem::path(row.config_file).filename().string() << "`";
    os << "\n";
  }
  if (r.options.model == "mnist_naive" || r.options.model == "resnet18_cifar") {
    // nni.md §4: NNI's published tables (TensorRT on a GTX/RTX 2080; latency of one batch of 128).
    const bool mnist = r.options.model == "mnist_naive";
    os << "\n## What NNI published (TensorRT, one GTX 2080, batch 128, "
       << (mnist ? "MNIST digits" : "CIFAR-10") << ")\n\n";
    os << "| strategy | latency (ms) | speedup | accuracy |\n|---|---|---|---|\n";
    if (mnist) {
      os << "| all in 32bit | 1.200 | 1.00x | 96% |\n"
            "| mixed precision (average bit 20.4) | 0.754 | 1.59x | 96% |\n"
            "| all in 8bit | 0.230 | 5.22x | 93.7% |\n";
    } else {
      os << "| all in 32bit | 3.286 | 1.00x | 54.21% |\n"
            "| mixed precision (average bit 11.55) | 1.358 | 2.42x | 54.78% |\n"
            "| all in 8bit | 0.859 | 3.83x | 52.81% |\n";
    }
    os << "\nDifferent hardware (GPU vs this machine's CPU) and data"
       << (mnist ? " (MNIST digits vs Fashion-MNIST, a harder task)" : "")
       << ": compare the ratios, not the absolute numbers.\n";
  }
  os << "\n## Stages\n\n| stage | seconds |\n|---|---|\n";
  for (const StageTime& s : r.stages)
    os << "| " << s.name << " | " << fixed(s.seconds, 1) << " |\n";
  if (!r.notes.empty()) {
    os << "\n## Notes\n\n";
    for (const auto& n : r.notes) os << "- " << n << "\n";
  }
  return os.str();
}

std::string render_json(const DemoReport& r) {
  using J = nlohmann::ordered_json;
  const DemoOptions& o = r.options;
  J j;
  j["model"] = o.model;
  j["model_parameters"] = r.model_parameters;
  j["backend"] = o.backend;
  j["threads"] = r.threads;
  j["batch"] = o.batch;
  j["quick"] = o.quick;
  j["machine"] = r.machine;
  j["load_average_start"] = r.load_start;
  j["load_average_end"] = r.load_end;
  j["cores"] = r.cores;
  j["omp_wait_policy"] = r.omp_wait_policy;
  j["busy"] = r.busy;
  j["started_at"] = r.started_at;
  j["total_seconds"] = r.total_seconds;
  j["train"] = {{"data", r.train_desc},
                {"samples", r.train_samples},
                {"limit", o.train_limit},
                {"epochs", o.epochs},
                {"recipe", r.float_recipe},
                {"loss", r.float_train_loss},
                {"train_accuracy", r.float_train_accuracy},
                {"seconds", r.float_train_seconds},
                {"images_per_s", r.float_images_per_s}};
  j["qat"] = {{"epochs", o.qat_epochs}, {"recipe", r.qat_recipe}};
  j["ptq"] = {{"method", o.calib_method}, {"calib_images", o.calib_images}, {"desc", r.calib_desc}};
  j["test"] = {{"data", r.test_desc}, {"samples", r.test_samples}};
  j["latency_method"] = r.timing;
  J rows = J::array();
  for (const DemoRow& row : r.rows) {
    J x;
    x["id"] = row.id;
    x["method"] = row.method;
    x["strategy"] = row.strategy;
    x["description"] = row.description;
    x["ok"] = row.ok;
    if (!row.ok) x["error"] = row.error;
    x["layers"] = row.layers;
    x["parameters"] = row.parameters;
    x["mean_bits"] = row.mean_bits;
    x["weighted_bits"] = row.weighted_bits;
    x["precisions"] = row.precisions;
    auto opt = [&](const char* k, double v) { x[k] = v < 0 ? J() : J(v); };
    opt("accuracy", row.accuracy);
    opt("agreement_with_fp32", row.agreement);
    opt("simulated_accuracy", row.simulated_accuracy);
    opt("median_ms", row.latency_ms);
    opt("p10_ms", row.p10_ms);
    opt("p90_ms", row.p90_ms);
    x["runs"] = row.runs;
    opt("speedup", row.speedup);
    x["quantize_seconds"] = row.quantize_s;
    x["build_seconds"] = row.build_s;
    x["config_file"] = row.config_file;
    x["calib_file"] = row.calib_file;
    x["engine_file"] = row.engine_file;
    rows.push_back(std::move(x));
  }
  j["rows"] = std::move(rows);
  J stages = J::array();
  for (const StageTime& s : r.stages) stages.push_back({{"name", s.name}, {"seconds", s.seconds}});
  j["stages"] = std::move(stages);
  j["notes"] = r.notes;
  return j.dump(2) + "\n";
}

std::vector<std::string> write_report(const DemoReport& r) {
  namespace fs = std::filesystem;
  fs::create_directories(r.options.out_dir);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"results.md", render_markdown(r)},
      {"results.json", render_json(r)},
      {"latency_accuracy.svg", render_svg_plot(r)}};
  std::vector<std::string> written;
  StagedOutputs out;                // the three report files are one result: all or none
  for (const auto& file : files) {  // not a structured binding: clang 14 cannot capture one
    const std::string path = (fs::path(r.options.out_dir) / file.first).string();
    data::write_file_atomic(out.stage(path), [&](std::ostream& os) { os << file.second; });
    written.push_back(path);
  }
  out.commit();
  return written;
}

}  // namespace mpq::demo
