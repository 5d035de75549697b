#include "api/precision_search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "api/build_engine.h"
#include "api/engine_timing.h"
#include "api/search_cost_model.h"
#include "api/sensitivity.h"
#include "backends/backend.h"
#include "core/rng.h"
#include "quant/config_list.h"
#include "runtime/engine_file.h"

namespace mpq::api {

namespace {

using Clock = std::chrono::steady_clock;

// Fidelity on one scale where higher is better; SQNR is capped so an exact match (fp32 against
// itself) stays comparable.
double score_of(const Fidelity& f, const std::string& metric) {
  return std::min(metric_value(f, metric), 200.0);
}

// Multiply-accumulates per sample of a layer with a constant weight: output elements per sample
// times the weight elements per output channel (node_macs needs static shapes; the batch here is
// open).
double layer_work(const Node& n) {
  const Value* w = n.inputs.at(1);
  const Value* y = n.outputs.at(0);
  const int64_t wn = shape_numel(w->shape);
  const int axis = y->batch_axis();
  double per_sample = 1.0;
  int64_t channels = 1;
  for (size_t d = 0; d < y->shape.size(); ++d) {
    if (static_cast<int>(d) == axis || y->shape[d] < 0) continue;
    per_sample *= static_cast<double>(y->shape[d]);
  }
  // A convolution's weight has spatial dims and its output channels at dim 1; a dense layer's
  // output channels are its last dim.
  const size_t cdim = w->shape.size() >= 3 ? 1 : y->shape.size() - 1;
  if (cdim < y->shape.size() && y->shape[cdim] > 0) channels = y->shape[cdim];
  return per_sample * static_cast<double>(wn) / static_cast<double>(channels);
}

std::vector<SearchLayer> search_layers(const Graph& g) {
  std::vector<SearchLayer> out;
  for (const Node* n : quantizable_layers(g)) {
    SearchLayer l;
    l.name = n->name;
    l.module_path = n->module_path;
    l.op = n->op_name();
    l.params = shape_numel(n->inputs.at(1)->shape);
    l.work = layer_work(*n);
    l.config_name = quant::layer_key(g, *n);  // the module path when it names this node only
    out.push_back(std::move(l));
  }
  return out;
}

class Searcher {
 public:
  Searcher(const Graph& g, const quant::CalibrationTable& table, const Tensor& data,
           const std::optional<Tensor>& labels, const SearchOptions& opt,
           const std::function<void(int, int, const std::string&)>& progress)
      : g_(g),
        table_(table),
        data_(data),
        labels_(labels),
        opt_(opt),
        progress_(progress),
        start_(Clock::now()) {}

  SearchReport run();

 private:
  bool out_of_time(double reserve_s = 0.0) const;
  std::shared_ptr<const runtime::Engine> build(const std::vector<int>& bits,
                                               int64_t* engine_bytes) const;
  double time_ms(const std::shared_ptr<const runtime::Engine>& e);
  double estimate_ms(const std::vector<int>& bits) const;
  size_t evaluate(const std::vector<int>& bits, const std::string& origin, double predicted);
  std::vector<int> uniform(int bits) const { return std::vector<int>(r_.layers.size(), bits); }
  bool baselines();
  void probe();
  void fit_prior();
  double gain(size_t layer, int bits) const;
  double predicted_score(const std::vector<int>& from, double from_score,
                         const std::vector<int>& to) const;
  void measure_predicted(const std::vector<int>& bits, const std::string& origin);
  void greedy();
  void explore();
  std::vector<size_t> frontier() const;
  void finish();

  const Graph& g_;
  const quant::CalibrationTable& table_;
  const Tensor& data_;
  const std::optional<Tensor>& labels_;
  SearchOptions opt_;
  std::function<void(int, int, const std::string&)> progress_;
  Clock::time_point start_;
  SearchReport r_;
  std::vector<float> ref_;  // the all-fp32 engine's outputs
  std::set<std::vector<int>> seen_;
  std::vector<int> allowed_ = {8, 16, 32};
  std::vector<std::array<double, 3>> probe_score_;  // per layer: score at 8 (int8), 16, 32
  std::unique_ptr<SearchCostModel> model_;
  std::shared_ptr<const runtime::Engine> control_;  // all-int8, timed beside each candidate
  double control_ms_ = 0.0;
  double seconds_per_engine_ = 0.0;
  int done_ = 0, expected_ = 0;
  std::string phase_;
};

bool Searcher::out_of_time(double reserve_s) const {
  const double used = std::chrono::duration<double>(Clock::now() - start_).count();
  return used + seconds_per_engine_ + reserve_s > opt_.time_budget_s;
}

std::shared_ptr<const runtime::Engine> Searcher::build(const std::vector<int>& bits,
                                                       int64_t* engine_bytes) const {
  BuildInputs in;
  in.graph = &g_;
  in.model_name = g_.name;
  quant::CalibrationTable t = table_;
  const std::string source = "<search plan>";
  apply_config_list(
      t, g_, quant::ConfigList::parse_string(config_list_for(r_.layers, bits), source), source);
  in.table = std::move(t);
  in.force = opt_.force;
  in.calib_name = opt_.calib_name;
  in.options.backend = opt_.backend;
  in.options.max_batch = r_.batch;
  in.options.threads = opt_.threads;
  BuildOutput b = build_engine(std::move(in));
  if (engine_bytes)
    *engine_bytes = static_cast<int64_t>(runtime::serialize_engine(*b.engine, b.info).size());
  return b.engine;
}

// Kernel-only time on device backends (CUDA graph replays). On the host, the fastest of
// `timing_runs` runs (api/engine_timing.h); once all-int8 is measured its engine is the control,
// run alternately with the candidate, whose time it scales by how much slower the machine is now
// than when all-int8 was first timed, so that load that comes and goes does not rank plans.
double Searcher::time_ms(const std::shared_ptr<const runtime::Engine>& e) {
  if (e->plan().options.backend != "cpu") {
    runtime::ExecutionContext ctx(e, opt_.threads);
    Shape s = data_.shape();
    s[0] = r_.batch;
    ctx.run({Tensor::view(data_.dtype(), s, const_cast<void*>(data_.raw()))});
    const double device = ctx.device_kernel_ms(r_.batch, opt_.timing_runs);
    if (device >= 0) return device;
  }
  if (!control_) return time_engine_ms(e, opt_.timing_runs);
  const auto [t, control] = time_engines_ms(e, control_, opt_.timing_runs);
  return t * control_ms_ / control;
}

// A static work figure in place of a timing: MACs of the batch at 1, 2 and 4 units per MAC for
// int8, 16 and 32 bits (the tensor-core and VNNI/AMX rate ratios), in units of 10^9.
double Searcher::estimate_ms(const std::vector<int>& bits) const {
  double w = 0.0;
  for (size_t l = 0; l < bits.size(); ++l)
    w += r_.layers[l].work * (bits[l] == 8 ? 1.0 : bits[l] == 16 ? 2.0 : 4.0);
  return w * static_cast<double>(r_.batch) * 1e-9;
}

size_t Searcher::evaluate(const std::vector<int>& bits, const std::string& origin,
                          double predicted) {
  const auto t0 = Clock::now();
  SearchPoint p;
  p.bits = bits;
  p.origin = origin;
  p.predicted_ms = predicted;
  auto e = build(bits, nullptr);
  std::vector<float> y = engine_outputs(e, data_, r_.batch, opt_.threads);
  if (ref_.empty()) ref_ = y;  // the first plan measured is all-fp32: the reference
  p.fidelity = compare_outputs(ref_, y, r_.samples, labels_);
  p.latency_ms = opt_.latency == "estimated" ? estimate_ms(bits) : time_ms(e);
  p.first_latency_ms = p.latency_ms;
  double params = 0.0;
  for (size_t l = 0; l < bits.size(); ++l) {
    p.mean_bits += bits[l];
    p.weighted_bits += static_cast<double>(bits[l]) * r_.layers[l].params;
    params += r_.layers[l].params;
  }
  p.mean_bits /= static_cast<double>(bits.size());
  p.weighted_bits = params > 0 ? p.weighted_bits / params : p.mean_bits;
  seen_.insert(bits);
  r_.points.push_back(std::move(p));
  if (model_) model_->add(bits, r_.points.back().latency_ms);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  seconds_per_engine_ = done_ ? 0.7 * seconds_per_engine_ + 0.3 * s : s;
  ++done_;
  expected_ = std::max(expected_, done_);
  if (progress_) progress_(done_, expected_, phase_);
  return r_.points.size() - 1;
}

// All fp32 first (the reference every other plan is compared with), then 16-bit and int8.
bool Searcher::baselines() {
  phase_ = "uniform plans";
  const char* names[] = {"all-fp32", "all-16", "all-int8"};
  const int bits[] = {32, 16, 8};
  for (int i = 0; i < 3; ++i) {
    if (i > 0 && out_of_time()) return false;
    evaluate(uniform(bits[i]), names[i], -1);
  }
  if (opt_.latency == "measured") {
    control_ = build(uniform(8), nullptr);
    control_ms_ = r_.points[2].latency_ms;
  }
  if (r_.points[1].latency_ms >= r_.points[0].latency_ms)
    allowed_ = {8, 32};  // 16-bit float is no faster than fp32 here: never a better choice
  return true;
}

void Searcher::probe() {
  phase_ = "per-layer probes";
  const double int8 = score_of(r_.points[2].fidelity, r_.metric);
  probe_score_.assign(r_.layers.size(), {int8, int8, int8});
  for (size_t l = 0; l < r_.layers.size(); ++l)
    for (int b : allowed_) {
      if (b == 8 || out_of_time(0.15 * opt_.time_budget_s)) continue;
      std::vector<int> bits = uniform(8);
      bits[l] = b;
      const size_t i = evaluate(bits, "probe", -1);
      probe_score_[l][b == 16 ? 1 : 2] = score_of(r_.points[i].fidelity, r_.metric);
    }
}

// The prior of the cost model: each layer's probe against all-int8; layers left unprobed get the
// uniform plans' difference shared by work.
void Searcher::fit_prior() {
  const size_t n = r_.layers.size();
  model_ = std::make_unique<SearchCostModel>(n);
  const double t8 = r_.points[2].latency_ms, t16 = r_.points[1].latency_ms,
               t32 = r_.points[0].latency_ms;
  double total_work = 0.0;
  for (const SearchLayer& l : r_.layers) total_work += l.work;
  std::vector<double> e16(n), e32(n);
  for (size_t l = 0; l < n; ++l) {
    const double share = total_work > 0 ? r_.layers[l].work / total_work : 1.0 / n;
    e16[l] = (t16 - t8) * share;
    e32[l] = (t32 - t8) * share;
  }
  for (const SearchPoint& p : r_.points) {
    if (p.origin != "probe") continue;
    for (size_t l = 0; l < n; ++l) {
      if (p.bits[l] == 16) e16[l] = p.latency_ms - t8;
      if (p.bits[l] == 32) e32[l] = p.latency_ms - t8;
    }
  }
  model_->set_prior(t8, e16, e32);
  for (const SearchPoint& p : r_.points) model_->add(p.bits, p.latency_ms);
  model_->fit();
}

double Searcher::gain(size_t layer, int bits) const {
  if (bits == 8 || layer >= probe_score_.size()) return 0.0;
  const auto& s = probe_score_[layer];
  return s[bits == 16 ? 1 : 2] - s[0];
}

// Fidelity of `to` predicted from a measured plan `from`: the probes' gains taken as additive.
double Searcher::predicted_score(const std::vector<int>& from, double from_score,
                                 const std::vector<int>& to) const {
  double s = from_score;
  for (size_t l = 0; l < to.size(); ++l)
    if (to[l] != from[l]) s += gain(l, to[l]) - gain(l, from[l]);
  return s;
}

void Searcher::measure_predicted(const std::vector<int>& bits, const std::string& origin) {
  evaluate(bits, origin, model_->predict(bits));
  model_->fit();
}

// From all-int8, raise one layer at a time: the move with the best probe gain per predicted
// millisecond, until the fp32 figure is reached or no move gains anything.
void Searcher::greedy() {
  phase_ = "greedy walk";
  const double best = score_of(r_.points[0].fidelity, r_.metric);
  const double floor_ms = 1e-3 * std::max(r_.points[2].latency_ms, 1e-9);
  std::vector<int> cur = uniform(8);
  double cur_score = score_of(r_.points[2].fidelity, r_.metric);
  while (cur_score < best && !out_of_time(0.1 * opt_.time_budget_s)) {
    std::vector<int> next;
    double best_ratio = 0.0;
    const double t_cur = model_->predict(cur);
    for (size_t l = 0; l < cur.size(); ++l)
      for (int b : allowed_) {
        const double dg = gain(l, b) - gain(l, cur[l]);
        if (b <= cur[l] || dg <= 0) continue;
        std::vector<int> nb = cur;
        nb[l] = b;
        const double ratio = dg / std::max(model_->predict(nb) - t_cur, floor_ms);
        if (ratio > best_ratio) best_ratio = ratio, next = std::move(nb);
      }
    if (next.empty()) break;
    cur = std::move(next);
    if (!seen_.count(cur)) measure_predicted(cur, "greedy");
    for (const SearchPoint& p : r_.points)
      if (p.bits == cur) cur_score = score_of(p.fidelity, r_.metric);
  }
}

// Seeded random neighbours (one or two layers changed) of frontier points; the one the models
// predict to gain most over the measured frontier at its predicted latency is measured.
void Searcher::explore() {
  phase_ = "exploring";
  Rng rng(opt_.seed);
  const size_t n = r_.layers.size();
  for (size_t round = 0; round < n && !out_of_time(0.1 * opt_.time_budget_s); ++round) {
    const std::vector<size_t> front = frontier();
    std::vector<int> pick;
    double pick_gain = 1e-9;
    for (int c = 0; c < 64; ++c) {
      const SearchPoint& base = r_.points[front[rng.below(front.size())]];
      std::vector<int> bits = base.bits;
      const int changes = 1 + static_cast<int>(rng.below(2));
      for (int k = 0; k < changes; ++k) bits[rng.below(n)] = allowed_[rng.below(allowed_.size())];
      if (seen_.count(bits)) continue;
      const double ms = model_->predict(bits);
      const double s = predicted_score(base.bits, score_of(base.fidelity, r_.metric), bits);
      double have = -1e300;  // the best measured fidelity at or below that latency
      for (size_t i : front)
        if (r_.points[i].latency_ms <= ms)
          have = std::max(have, score_of(r_.points[i].fidelity, r_.metric));
      if (s - have > pick_gain) pick_gain = s - have, pick = bits;
    }
    if (pick.empty()) break;
    measure_predicted(pick, "explore");
  }
}

// Points no other point beats on both latency and fidelity, fastest first.
std::vector<size_t> Searcher::frontier() const {
  std::vector<size_t> order(r_.points.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return r_.points[a].latency_ms < r_.points[b].latency_ms;
  });
  std::vector<size_t> out;
  double best = -1e300;
  for (size_t i : order) {
    const double s = score_of(r_.points[i].fidelity, r_.metric);
    if (s > best) out.push_back(i), best = s;
  }
  return out;
}

// Re-measures the frontier's latencies (rebuilt engines, timed again), then picks the fastest
// point within the target.
void Searcher::finish() {
  phase_ = "re-measuring the frontier";
  // A re-measured latency can bring a point onto the frontier: repeat until every frontier point
  // has been timed twice (each point at most once more, so this ends).
  for (bool again = opt_.latency == "measured"; again;) {
    again = false;
    for (size_t i : frontier()) {
      SearchPoint& p = r_.points[i];
      if (p.remeasured) continue;
      p.latency_ms = time_ms(build(p.bits, &p.engine_bytes));
      p.remeasured = again = true;
      ++done_;
      expected_ = std::max(expected_, done_);
      if (progress_) progress_(done_, expected_, phase_);
    }
  }
  r_.frontier = frontier();
  // The engine size only where it is reported: serializing copies every weight.
  for (size_t i : r_.frontier) {
    SearchPoint& p = r_.points[i];
    p.frontier = true;
    if (p.engine_bytes == 0) build(p.bits, &p.engine_bytes);
  }
  const double fp32 = score_of(r_.points[0].fidelity, r_.metric);
  const bool sqnr = r_.metric == "sqnr";
  const double want = sqnr ? opt_.min_sqnr_db : fp32 - opt_.max_drop / 100.0;
  r_.target = sqnr ? str(r_.metric, " >= ", opt_.min_sqnr_db, " dB")
                   : str(r_.metric, " >= ", 100.0 * want, "% (fp32 ", 100.0 * fp32, "% - ",
                         opt_.max_drop, " points)");
  // Frontier points within kTie of the fastest one meeting the target differ by timing noise:
  // the most faithful of them is chosen (the frontier's fidelity rises with its latency).
  constexpr double kTie = 0.03;
  double limit = -1;
  for (size_t i : r_.frontier) {
    const SearchPoint& p = r_.points[i];
    if (score_of(p.fidelity, r_.metric) < want - 1e-12) continue;
    if (limit < 0) limit = p.latency_ms * (1 + kTie);
    if (p.latency_ms <= limit) r_.chosen = i;
  }
  std::vector<double> err;
  for (const SearchPoint& p : r_.points)
    if (p.predicted_ms >= 0 && p.first_latency_ms > 0)
      err.push_back(std::abs(p.predicted_ms - p.first_latency_ms) / p.first_latency_ms);
  r_.cost_model_predictions = static_cast<int>(err.size());
  if (!err.empty()) {
    std::nth_element(err.begin(), err.begin() + err.size() / 2, err.end());
    r_.cost_model_median_error = err[err.size() / 2];
  }
}

SearchReport Searcher::run() {
  r_.layers = search_layers(g_);
  if (r_.layers.empty())
    unsupported("the model has no quantizable layer (Conv, Gemm or MatMul with a constant weight)")
        .raise();
  r_.metric = opt_.metric.empty() ? (labels_ ? "accuracy" : "agreement") : opt_.metric;
  r_.backend = opt_.backend;
  r_.latency_source = opt_.latency;
  r_.seed = opt_.seed;
  r_.samples = data_.dim(0);
  r_.batch = std::min<int64_t>(opt_.batch_size, r_.samples);
  const int64_t n = static_cast<int64_t>(r_.layers.size());
  expected_ = static_cast<int>(3 + (allowed_.size() - 1) * n + 2 * n + 8);
  const bool complete = baselines();
  r_.baselines_complete = complete;
  if (labels_) r_.fp32_accuracy = r_.points[0].fidelity.accuracy;
  if (complete) {
    probe();
    fit_prior();
    greedy();
    explore();
  }
  finish();
  r_.stopped = !complete || out_of_time(0.1 * opt_.time_budget_s) ? "budget" : "done";
  r_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  return std::move(r_);
}

}  // namespace

}  // namespace mpq::api

namespace mpq {

SearchReport precision_search(const Graph& g, const quant::CalibrationTable& table,
                              const Tensor& data, const std::optional<Tensor>& labels,
                              const SearchOptions& opt,
                              const std::function<void(int, int, const std::string&)>& progress) {
  using namespace api;
  if (!opt.metric.empty()) check_metric(opt.metric, labels.has_value());
  check_validation_data(g, data, labels);
  if (opt.latency != "measured" && opt.latency != "estimated")
    invalid_input(str("unknown latency source '", opt.latency, "': measured or estimated"))
        .key("latency")
        .raise();
  if (!(opt.time_budget_s > 0))
    invalid_input("the time budget must be positive").key("time-budget").raise();
  if (opt.batch_size < 1 || opt.timing_runs < 1)
    invalid_input("the batch and the timing runs must be positive").key("batch").raise();
  if (opt.backend != "cpu" && !find_backend(opt.backend))
    unsupported(str("the ", opt.backend, " backend is not in this build of mpq (cpu is)"))
        .key("backend")
        .raise();
  quant::check_table_matches(table, g, opt.force, opt.calib_name);
  return Searcher(g, table, data, labels, opt, progress).run();
}

}  // namespace mpq
