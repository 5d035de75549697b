// MPQ_DEBUG: every knob parses, values are checked, unknown or malformed entries are named.
#include "core/debug_options.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace mpq {
namespace {

TEST(DebugOptions, EveryKnobParses) {
  std::string rejected;
  const DebugOptions o = parse_debug_options(
      "cuda-tile=tc_u8_64x64x64_w2x2_s4,cuda-splitk=4,cuda-no-splitk,cuda-no-direct,"
      "cuda-no-depthwise,cuda-no-depthwise-row,cuda-no-wgmma,cuda-no-pdl,cuda-profile,cuda-warmup-"
      "ms=0",
      &rejected);
  EXPECT_EQ(rejected, "");
  EXPECT_EQ(o.cuda_tile, "tc_u8_64x64x64_w2x2_s4");
  EXPECT_EQ(o.cuda_splitk, 4);
  EXPECT_TRUE(o.cuda_no_splitk && o.cuda_no_direct && o.cuda_no_depthwise &&
              o.cuda_no_depthwise_row && o.cuda_no_wgmma && o.cuda_no_pdl && o.cuda_profile);
  EXPECT_EQ(o.cuda_warmup_ms, 0.0);
  const DebugOptions d = parse_debug_options("");
  EXPECT_TRUE(d.cuda_tile.empty());
  EXPECT_EQ(d.cuda_splitk, 0);
  EXPECT_FALSE(d.cuda_profile);
  EXPECT_EQ(d.cuda_warmup_ms, 1000.0);
}

TEST(DebugOptions, BadEntriesAreNamedAndIgnored) {
  std::string rejected;
  const DebugOptions o = parse_debug_options(
      "cuda-splitk=0,cuda-tile=,cuda-profile=1,cuda-warmup-ms=fast,no-such-knob,cuda-no-pdl",
      &rejected);
  EXPECT_EQ(rejected, "cuda-splitk=0,cuda-tile=,cuda-profile=1,cuda-warmup-ms=fast,no-such-knob");
  EXPECT_EQ(o.cuda_splitk, 0);
  EXPECT_FALSE(o.cuda_profile);
  EXPECT_TRUE(o.cuda_no_pdl);
}

TEST(DebugOptions, ReadFromTheEnvironmentWhenAsked) {
  setenv("MPQ_DEBUG", "cuda-tile=depthwise_u8", 1);
  EXPECT_EQ(debug_options().cuda_tile, "depthwise_u8");
  unsetenv("MPQ_DEBUG");
  EXPECT_TRUE(debug_options().cuda_tile.empty());
}

}  // namespace
}  // namespace mpq
