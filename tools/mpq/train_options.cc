#include "train_options.h"

#include <omp.h>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace mpq::cli {

void add_train_flags(CLI::App* cmd, TrainFlags& f) {
  cmd->add_option("--optimizer", f.optimizer, "sgd, adam or adamw (PyTorch's update rules)")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}))
      ->capture_default_str();
  cmd->add_option("--lr", f.lr, "Learning rate (default: SGD 0.01, Adam/AdamW 0.001)");
  cmd->add_option("--momentum", f.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--weight-decay", f.weight_decay,
                  "Weight decay (SGD/Adam: L2 in the gradient; AdamW: decoupled, default 0.01)");
  cmd->add_flag("--nesterov", f.nesterov, "Nesterov momentum (SGD)");
  cmd->add_option("--schedule", f.schedule,
                  "LR schedule: constant, step:STEP:GAMMA, multistep:E1,E2:GAMMA or "
                  "cosine[:ETA_MIN] (per step over all epochs)")
      ->capture_default_str();
  cmd->add_option("--batch", f.batch,
                  "The optimizer's mini-batch (NNI's recipe; not the inference batch 128 of the "
                  "engine commands)")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--seed", f.seed, "Shuffling seed")->capture_default_str();
  cmd->add_option("--epochs", f.epochs, "Epochs")->capture_default_str()->check(positive());
  cmd->add_option("--max-steps", f.max_steps, "Stop each epoch after this many steps (quick runs)");
  cmd->add_flag("--profile", f.profile, "Print the time spent per kernel (forward/backward)");
  cmd->add_option("--threads", f.threads, "Threads (default: OMP_NUM_THREADS, else all cores)")
      ->check(non_negative());
}

void apply_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

void print_profile(const train::Autodiff& ad) {
  double total = 0;
  for (const auto& [k, v] : ad.timing()) total += v;
  std::fprintf(stderr, "kernel time (%.2f s in total):\n", total);
  for (const auto& [k, v] : ad.timing())
    std::fprintf(stderr, "  %-28s %8.3f s  %5.1f%%\n", k.c_str(), v,
                 total > 0 ? 100 * v / total : 0);
}

OptimizerConfig optimizer_config(const TrainFlags& f) {
  if (f.optimizer == "sgd") {
    SGD s;
    if (!std::isnan(f.lr)) s.lr = f.lr;
    s.momentum = f.momentum;
    if (!std::isnan(f.weight_decay)) s.weight_decay = f.weight_decay;
    s.nesterov = f.nesterov;
    return s;
  }
  if (f.optimizer == "adam") {
    Adam a;
    if (!std::isnan(f.lr)) a.lr = f.lr;
    if (!std::isnan(f.weight_decay)) a.weight_decay = f.weight_decay;
    return a;
  }
  AdamW a;
  if (!std::isnan(f.lr)) a.lr = f.lr;
  if (!std::isnan(f.weight_decay)) a.weight_decay = f.weight_decay;
  return a;
}

namespace {
std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}
double number(const std::string& s, const std::string& spec) {
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos == s.size()) return v;
  } catch (const std::exception&) {
  }
  invalid_input(str("bad number '", s, "' in schedule '", spec, "'")).key("--schedule").raise();
}
}  // namespace

LrSchedule lr_schedule(const TrainFlags& f) {
  const auto parts = split(f.schedule, ':');
  const std::string kind = parts.empty() ? "constant" : parts[0];
  if (kind == "constant" && parts.size() <= 1) return LrSchedule::constant();
  if (kind == "step" && parts.size() == 3)
    return LrSchedule::step(static_cast<int64_t>(number(parts[1], f.schedule)),
                            number(parts[2], f.schedule));
  if (kind == "multistep" && parts.size() == 3) {
    std::vector<int64_t> ms;
    for (const auto& m : split(parts[1], ','))
      ms.push_back(static_cast<int64_t>(number(m, f.schedule)));
    return LrSchedule::multi_step(ms, number(parts[2], f.schedule));
  }
  if (kind == "cosine" && parts.size() <= 2)
    return LrSchedule::cosine(0, parts.size() == 2 ? number(parts[1], f.schedule) : 0.0, true);
  invalid_input(str("unknown LR schedule '", f.schedule,
                    "': use constant, step:STEP:GAMMA, multistep:E1,E2:GAMMA or cosine[:ETA_MIN]"))
      .key("--schedule")
      .raise();
}

train::TrainOptions train_options(const TrainFlags& f, const std::string& label) {
  train::TrainOptions o;
  o.optimizer = optimizer_config(f);
  o.schedule = lr_schedule(f);
  o.batch_size = f.batch;
  o.seed = f.seed;
  o.quiet = common_flags().quiet || common_flags().json;
  o.label = label;
  o.max_steps_per_epoch = f.max_steps;
  return o;
}

std::string describe_epoch(const train::EpochResult& e) {
  char b[160];
  std::snprintf(b, sizeof b, "loss %.4f  acc %.2f%%  %lld img in %.1f s (%.0f img/s)", e.loss,
                100.0 * e.accuracy, static_cast<long long>(e.samples), e.seconds,
                e.images_per_second);
  return b;
}

}  // namespace mpq::cli
