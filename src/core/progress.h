// A progress bar with rate and ETA on stderr, for calibration, training and demos:
//   calibrate [##########..........]  512/1000 img  51%  85.3 img/s  ETA 0:06  loss 0.31
// Silent when stderr is not a terminal or when `quiet` is set; redraws at most 10 times a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mpq {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool quiet = false, std::string unit = "img");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(int64_t n = 1);
  void set_status(std::string status);
  // For work whose extent is learned on the way (a search that stops early, or goes on longer).
  void set_total(int64_t total) { total_ = total; }  // free text after the ETA (e.g. "loss 0.31")
  // Draws the final state and ends the line (only if anything was drawn).
  void finish();

  bool enabled() const { return enabled_; }
  int64_t done() const { return done_; }
  double elapsed_seconds() const;

  // The line for a given state (no terminal control characters); `width` is the bar width.
  static std::string render(const std::string& label, int64_t done, int64_t total, double elapsed_s,
                            const std::string& unit, const std::string& status, int width = 20);
  static bool stderr_is_terminal();

 private:
  void draw(bool force);

  std::string label_, unit_, status_;
  int64_t total_ = 0, done_ = 0;
  bool enabled_ = false, drawn_ = false, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace mpq
