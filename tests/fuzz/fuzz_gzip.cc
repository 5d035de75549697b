// The gzip layer of the dataset readers: truncated and corrupt streams, concatenated members, the
// head check before inflating the rest and the inflated-size cap (small here, so that bombs hit
// it quickly); what inflates is then parsed as NPY or IDX, as read_npy / read_idx do.
#include "data/file_io.h"
#include "data/idx.h"
#include "data/npy.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpq::fuzz::expect_clean_failure(data, size, [](const std::string& b) {
    auto head_ok = [](const std::string& h) {
      return mpq::data::looks_like_npy(h) || mpq::data::looks_like_idx(h);
    };
    const std::string raw =
        mpq::data::inflate_maybe_gz(b, "fuzz.gz", head_ok, "NPY or IDX", size_t{1} << 22);
    if (mpq::data::looks_like_npy(raw))
      mpq::data::parse_npy(raw, "fuzz.gz");
    else
      mpq::data::parse_idx(raw, "fuzz.gz");
  });
  return 0;
}
