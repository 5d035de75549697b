#include "plan/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace mpq::plan {

namespace {
constexpr size_t kAlign = 64;
size_t round_up(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}
}  // namespace

MemoryPlan plan_memory(const Plan& plan, const std::vector<std::unique_ptr<Kernel>>& kernels) {
  const size_t nt = plan.tensors.size();
  MemoryPlan mp;
  mp.offset.assign(nt, -1);
  std::vector<bool> in_arena(nt, true);
  for (size_t t = 0; t < nt; ++t)
    if (plan.tensors[t].is_constant()) in_arena[t] = false;
  for (int t : plan.inputs) in_arena[t] = false;
  for (int t : plan.outputs) in_arena[t] = false;

  const int ns = static_cast<int>(plan.steps.size());
  std::vector<int> first(nt, ns), last(nt, -1);
  for (int s = 0; s < ns; ++s) {
    for (int t : plan.steps[s].outputs)
      first[t] = std::min(first[t], s), last[t] = std::max(last[t], s);
    for (int t : plan.steps[s].inputs)
      if (t >= 0) last[t] = std::max(last[t], s);
  }
  // Union of tensors sharing a buffer (in-place kernels).
  std::vector<int> root(nt);
  std::iota(root.begin(), root.end(), 0);
  auto find = [&](int t) {
    while (root[t] != t) t = root[t] = root[root[t]];
    return t;
  };
  std::vector<int> group_last(last);
  std::vector<size_t> group_bytes(nt);
  for (size_t t = 0; t < nt; ++t) group_bytes[t] = plan.tensors[t].bytes();
  for (int s = 0; s < ns && s < static_cast<int>(kernels.size()); ++s) {
    const Step& st = plan.steps[s];
    for (auto [o, i] : kernels[s]->inplace()) {
      if (o >= static_cast<int>(st.outputs.size()) || i >= static_cast<int>(st.inputs.size()))
        continue;
      const int to = st.outputs[o], ti = st.inputs[i];
      if (ti < 0 || !in_arena[to] || !in_arena[ti]) continue;
      // Not if the step also reads that buffer through another input (e.g. conv(x) + x).
      if (std::count(st.inputs.begin(), st.inputs.end(), ti) > 1) continue;
      const int g = find(ti);
      // The input (and everything sharing its buffer) must die here.
      if (group_last[g] != s || plan.tensors[ti].bytes() != plan.tensors[to].bytes()) continue;
      if (find(to) != to) continue;
      root[to] = g;
      group_last[g] = std::max(group_last[g], last[to]);
      group_bytes[g] = std::max(group_bytes[g], group_bytes[to]);
    }
  }
  struct Group {
    int root;
    int begin, end;
    size_t bytes;
    int64_t offset = -1;
  };
  std::vector<Group> groups;
  std::vector<int> group_of(nt, -1);
  for (size_t t = 0; t < nt; ++t) {
    if (!in_arena[t] || first[t] == ns) continue;
    mp.unshared_bytes += round_up(plan.tensors[t].bytes());
    const int g = find(static_cast<int>(t));
    if (group_of[g] < 0) {
      group_of[g] = static_cast<int>(groups.size());
      groups.push_back({g, first[g], group_last[g], round_up(group_bytes[g])});
    }
    Group& gr = groups[group_of[g]];
    gr.begin = std::min(gr.begin, first[t]);
  }
  // Largest first; each at the lowest offset free over its lifetime.
  std::vector<int> order(groups.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return groups[a].bytes > groups[b].bytes; });
  std::vector<int> placed;
  for (int gi : order) {
    Group& g = groups[gi];
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (int pi : placed) {
      const Group& p = groups[pi];
      if (p.end < g.begin || g.end < p.begin) continue;
      busy.push_back({p.offset, p.offset + static_cast<int64_t>(p.bytes)});
    }
    std::sort(busy.begin(), busy.end());
    int64_t off = 0;
    for (auto [b, e] : busy) {
      if (off + static_cast<int64_t>(g.bytes) <= b) break;
      off = std::max(off, e);
    }
    g.offset = off;
    mp.arena_bytes = std::max(mp.arena_bytes, static_cast<size_t>(off) + g.bytes);
    placed.push_back(gi);
  }
  for (size_t t = 0; t < nt; ++t) {
    if (!in_arena[t] || first[t] == ns) continue;
    mp.offset[t] = groups[group_of[find(static_cast<int>(t))]].offset;
  }
  return mp;
}

}  // namespace mpq::plan
