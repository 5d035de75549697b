#include "quant/name_match.h"

#include <fnmatch.h>

#include <algorithm>
#include <set>

namespace mpq::quant {

bool is_glob(std::string_view s) {
  return s.find_first_of("*?[") != std::string_view::npos;
}

bool glob_match(const std::string& pattern, const std::string& name) {
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> near_matches(const std::string& name,
                                      const std::vector<std::string>& candidates, size_t max) {
  const size_t limit = std::max<size_t>(2, name.size() / 3);
  std::set<std::pair<size_t, size_t>> ranked;  // (distance, first index of the candidate)
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string& c = candidates[i];
    size_t d = edit_distance(name, c);
    // A candidate that contains the name (or is contained in it) is a near match too.
    bool sub = !name.empty() && !c.empty() &&
               (c.find(name) != std::string::npos || name.find(c) != std::string::npos);
    if (d <= limit || sub) ranked.insert({d, i});
  }
  std::vector<std::string> out;
  for (const auto& [d, i] : ranked) {
    if (out.size() >= max) break;
    if (std::find(out.begin(), out.end(), candidates[i]) == out.end()) out.push_back(candidates[i]);
  }
  return out;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", '" : "'") + names[i] + "'";
  return s;
}

}  // namespace mpq::quant
