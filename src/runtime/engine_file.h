// The engine file (.mpqe): a built engine saved so that it loads in milliseconds on any x86-64
// machine (DESIGN.md §1).
//
// Layout (little-endian):
//   [0, 64)      header: magic "MPQE\r\n\x1a\n", u32 format version, u32 flags (0), u64 file
//                size, u64 meta offset, u64 meta size, u64 data offset, u64 data size, u64 0
//   meta         build info (producer, source model hash, calibration hash), build options, the
//                optimized graph (values, nodes with attributes, in topological order), the plan
//                (per tensor: dtype, layout, quantization; per step: node, executed precision,
//                backend, kernel and the algorithm it chose) and the manifest
//   data         every constant (weights, folded constants), each 64-byte aligned, f32 as built
//                (no ISA-specific packing: kernels pack at load, so one file serves any CPU)
//   [size-16)    trailer: u64 checksum64 of every byte before it, magic "MPQEEND\n"
//
// Loading checks, in order: size, magic, format version (a newer one is refused with a message
// saying so), the size recorded in the header (truncation), the trailer and the checksum
// (corruption of any byte), then parses the meta with bounds-checked reads. Each failure is a
// kInvalidInput naming the file. Saving writes a temp file and renames it over the target.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "plan/plan.h"
#include "runtime/engine.h"

namespace mpq::runtime {

// Version history: 1 (first), 2 (each step records its kernel's chosen algorithm), 3 (the build
// option allow_host_fallback), 4 (each tensor records which dim scales with the batch, and by how
// much). A reader
// accepts exactly its own version: older files are rebuilt from their model, newer ones need a
// newer mpq.
constexpr uint32_t kEngineFormatVersion = 4;
constexpr size_t kEngineHeaderBytes = 64;
constexpr size_t kEngineTrailerBytes = 16;
// Seed of the trailer checksum (checksum64 of every byte before the trailer).
constexpr uint64_t kEngineChecksumSeed = 0x6d70716520763121ull;  // "mpqe v1!"

// What the file records about how the engine was made.
struct EngineFileInfo {
  uint32_t format_version = kEngineFormatVersion;
  std::string producer;     // "mpq 0.1.0"
  std::string model_name;   // the source model (file name or graph name)
  std::string model_hash;   // quant::model_hash of the float source graph
  std::string calib_name;   // calibration table file, "" if none
  std::string calib_hash;   // hash of the calibration table's JSON, "" if none
  std::string config_name;  // --config file, "" if none
  // Filled when saving/loading:
  uint64_t file_bytes = 0;
  uint64_t weight_bytes = 0;
  std::string checksum;  // "c64:0123456789abcdef"
};

// Timings of one load, in milliseconds: wall time per phase, and the process CPU time of the
// whole load (on a shared machine the wall time includes waiting for a core; the CPU time is what
// the load costs).
struct LoadStats {
  double read_ms = 0, verify_ms = 0, parse_ms = 0, prepare_ms = 0, total_ms = 0;
  double cpu_ms = 0;
};

struct LoadedEngine {
  std::shared_ptr<const Engine> engine;
  EngineFileInfo info;
  LoadStats stats;
};

// The file's bytes (deterministic: saving a loaded engine again gives the same bytes).
std::string serialize_engine(const Engine& e, const EngineFileInfo& info);
// Writes atomically (temp file + rename); throws kInvalidInput naming the file if it cannot.
// Returns the info as written (sizes and checksum filled in).
EngineFileInfo save_engine(const Engine& e, const EngineFileInfo& info, const std::string& path);

// Reads and verifies an engine file without preparing kernels: the plan as built (manifest impl
// names are those of the building machine).
struct EngineFileContents {
  plan::Plan plan;
  EngineFileInfo info;
};
EngineFileContents read_engine_file(const std::string& path);
// Same, from bytes held in memory (`name` is used in messages).
EngineFileContents parse_engine_bytes(const std::string& bytes, const std::string& name);

// Prepares the kernels of a plan read from the file `name`. The plan passed the file's checks, so
// a kernel that still cannot prepare it means a file mpq did not write: kInvalidInput naming the
// file and the kernel's reason, not an internal error.
std::shared_ptr<const Engine> prepare_loaded_plan(plan::Plan plan, const std::string& name);

// Reads, verifies and prepares (packs weights for this machine's ISA): ready to run.
LoadedEngine load_engine(const std::string& path);

}  // namespace mpq::runtime
