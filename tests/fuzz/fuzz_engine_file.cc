// Engine-file loader past its checksum: the input is an engine file without its 16-byte trailer;
// the target writes the magic and the size into the header and seals it with a valid checksum,
// so that every mutation reaches the meta parser (graph, plan, manifest) and the data offsets,
// then prepares the kernels as loading does.
#include <cstring>

#include "fuzz_target.h"
#include "runtime/binary_io.h"
#include "runtime/engine_file.h"
#include "runtime/engine_file_format.h"

namespace {

std::string seal(std::string f) {
  using namespace mpq::runtime;
  if (f.size() < kEngineHeaderBytes) return f;  // the size check must refuse it
  std::memcpy(&f[0], detail::kMagic, 8);
  detail::put64(f, 16, f.size() + kEngineTrailerBytes);
  const uint64_t sum = checksum64(f.data(), f.size(), kEngineChecksumSeed);
  f.append(reinterpret_cast<const char*>(&sum), 8);
  f.append(detail::kEndMagic, 8);
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpq::fuzz::expect_clean_failure(data, size, [](const std::string& b) {
    mpq::runtime::EngineFileContents c = mpq::runtime::parse_engine_bytes(seal(b), "fuzz.mpqe");
    mpq::runtime::prepare_loaded_plan(std::move(c.plan), "fuzz.mpqe");
  });
  return 0;
}
