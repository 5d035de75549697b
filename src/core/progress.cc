#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/status.h"

namespace mpq {

namespace {
std::string clock_str(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}
}  // namespace

bool Progress::stderr_is_terminal() {
  return isatty(STDERR_FILENO) == 1;
}

Progress::Progress(std::string label, int64_t total, bool quiet, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total) {
  enabled_ = !quiet && stderr_is_terminal();
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  finish();
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(int64_t n) {
  done_ += n;
  draw(false);
}

void Progress::set_status(std::string status) {
  status_ = std::move(status);
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  draw(true);
  if (drawn_) std::fputc('\n', stderr);
}

std::string Progress::render(const std::string& label, int64_t done, int64_t total, double elapsed,
                             const std::string& unit, const std::string& status, int width) {
  std::string s = label;
  s += ' ';
  const double frac =
      total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 0.0;
  if (total > 0) {
    const int fill = static_cast<int>(frac * width);
    s += '[';
    s.append(static_cast<size_t>(fill), '#');
    s.append(static_cast<size_t>(width - fill), '.');
    s += "] ";
    s += str(done, "/", total, " ", unit, "  ", static_cast<int>(frac * 100), "%");
  } else {
    s += str(done, " ", unit);
  }
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "  %.1f %s/s", rate, unit.c_str());
  s += buf;
  if (total > 0) {
    const double eta =
        done >= total ? 0.0 : (rate > 0 ? static_cast<double>(total - done) / rate : NAN);
    s += done >= total ? "  in " : "  ETA ";
    s += clock_str(done >= total ? elapsed : eta);
  }
  if (!status.empty()) {
    s += "  ";
    s += status;
  }
  return s;
}

void Progress::draw(bool force) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  drawn_ = true;
  std::string line = render(label_, done_, total_, elapsed_seconds(), unit_, status_);
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
}

}  // namespace mpq
