// ONNX names must be UTF-8: the check accepts every valid form and refuses the invalid ones.
#include "frontend/onnx/utf8_names.h"

#include <gtest/gtest.h>

namespace mpq::onnx_io {
namespace {

TEST(Utf8Names, ValidAndInvalidSequences) {
  for (const char* ok : {"", "conv1", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x7f"})
    EXPECT_TRUE(is_valid_utf8(ok)) << ok;
  for (const char* bad : {"conv\xff", "\xc3", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "\x80", "a\xc3(b"})
    EXPECT_FALSE(is_valid_utf8(bad)) << bad;
}

}  // namespace
}  // namespace mpq::onnx_io
