#include "plan/host_steps.h"

#include "backends/backend.h"

namespace mpq::plan {

namespace {

const LayerReport* report_of(const Manifest& m, const std::string& name) {
  for (const LayerReport& r : m.layers)
    if (r.name == name) return &r;
  return nullptr;
}

}  // namespace

std::vector<std::string> host_steps(const Plan& plan) {
  const Backend* b = find_backend(plan.options.backend);
  std::vector<std::string> out;
  if (!b || !b->runs_on_device()) return out;
  for (const Step& st : plan.steps) {
    if (st.backend == plan.options.backend) continue;
    const LayerReport* r = report_of(plan.manifest, st.node->name);
    const std::string why = r && !r->reason.empty() ? r->reason : "no device kernel";
    out.push_back(str(st.node->op_name(), " '", st.node->label(), "' on ", st.backend, ": ", why));
  }
  return out;
}

void check_host_steps(Plan& plan) {
  const std::vector<std::string> host = host_steps(plan);
  if (host.empty()) return;
  std::string all;
  for (const std::string& h : host) all += (all.empty() ? "" : "; ") + h;
  if (!plan.options.allow_host_fallback) {
    const Step* first = nullptr;
    for (const Step& st : plan.steps)
      if (!first && st.backend != plan.options.backend) first = &st;
    unsupported(str(host.size(), " step(s) have no ", plan.options.backend,
                    " kernel and would run on the host: ", all,
                    " (allow that with --allow-host-fallback)"))
        .node(first->node->label())
        .raise();
  }
  plan.manifest.notes.push_back(
      str(host.size(), " step(s) run on the host (allow_host_fallback): ", all));
}

}  // namespace mpq::plan
