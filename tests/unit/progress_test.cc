#include "core/progress.h"

#include <gtest/gtest.h>

namespace mpq {
namespace {

TEST(Progress, RenderShowsCountRateAndEta) {
  std::string s = Progress::render("calibrate", 250, 1000, 5.0, "img", "", 20);
  EXPECT_EQ(s, "calibrate [#####...............] 250/1000 img  25%  50.0 img/s  ETA 0:15");
  std::string done = Progress::render("train", 1000, 1000, 65.0, "img", "loss 0.31", 10);
  EXPECT_EQ(done, "train [##########] 1000/1000 img  100%  15.4 img/s  in 1:05  loss 0.31");
  EXPECT_EQ(Progress::render("x", 0, 10, 0.0, "img", "", 4),
            "x [....] 0/10 img  0%  0.0 img/s  ETA --:--");
  EXPECT_EQ(Progress::render("x", 7, 0, 2.0, "step", "", 4), "x 7 step  3.5 step/s");
}

TEST(Progress, QuietWhenAskedOrNotATerminal) {
  Progress p("q", 10, /*quiet=*/true);
  EXPECT_FALSE(p.enabled());
  p.advance(3);
  EXPECT_EQ(p.done(), 3);
  // Under ctest stderr is a pipe or file: the bar stays silent.
  Progress q("q", 10, false);
  EXPECT_EQ(q.enabled(), Progress::stderr_is_terminal());
}

}  // namespace
}  // namespace mpq
