// The demo's results table: for the terminal, as Markdown and as JSON, and the files in the output
// folder (results.md, results.json, latency_accuracy.svg; each written atomically).
#pragma once

#include <string>
#include <vector>

#include "demo/pipeline.h"

namespace mpq::demo {

// `v` with `digits` decimals ("12.35"); "-" for a negative (unmeasured) value.
std::string fixed(double v, int digits);

std::string render_terminal(const DemoReport& r);
std::string render_markdown(const DemoReport& r);
std::string render_json(const DemoReport& r);

// Writes results.md, results.json and latency_accuracy.svg into r.options.out_dir; returns the
// paths written.
std::vector<std::string> write_report(const DemoReport& r);

}  // namespace mpq::demo
