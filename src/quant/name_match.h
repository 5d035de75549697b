// Name matching shared by config_list and calibration-table resolution: glob patterns for
// op_names, and "did you mean" suggestions by edit distance for names that match nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mpq::quant {

// True if `s` contains a glob metacharacter (*, ? or [).
bool is_glob(std::string_view s);
// Shell-style match (*, ?, [...]); '.' and '/' are ordinary characters.
bool glob_match(const std::string& pattern, const std::string& name);
// Levenshtein distance.
size_t edit_distance(std::string_view a, std::string_view b);
// Up to `max` candidates closest to `name` (ties keep the candidates' order), among those within a
// distance of max(2, |name|/3); the closest ones first. Candidates may repeat; each is listed once.
std::vector<std::string> near_matches(const std::string& name,
                                      const std::vector<std::string>& candidates, size_t max = 3);
// ", "-joined, quoted list for messages: "'a', 'b'".
std::string quoted_list(const std::vector<std::string>& names);

}  // namespace mpq::quant
