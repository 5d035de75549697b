#include "frontend/onnx/module_path.h"

#include <cctype>
#include <map>
#include <set>

namespace mpq::onnx_io {

namespace {

constexpr const char* kTag = "mpq:module_path=";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) return out;
    start = p + 1;
  }
}

std::string join(const std::vector<std::string>& atoms, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < atoms.size(); ++i) out += (i ? "." : "") + atoms[i];
  return out;
}

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// Module atoms of a scoped node name, or empty when the name carries no scope.
// "/layer1/layer1.0/conv1/Conv" -> {layer1, 0, conv1}; "/Flatten" -> {} (root scope).
bool scope_atoms(const std::string& name, std::vector<std::string>* atoms) {
  atoms->clear();
  if (name.size() < 2 || name[0] != '/') return false;
  std::vector<std::string> comps = split(name.substr(1), '/');
  comps.pop_back();  // the op's own name ("Conv", "Relu_1")
  for (const auto& c : comps) {
    if (c.empty()) return false;
    atoms->push_back(c.substr(c.rfind('.') + 1));
  }
  return true;
}

// "relu_1" -> "relu" (true); "relu" -> false.
bool strip_call_suffix(const std::string& atom, std::string* base) {
  size_t p = atom.rfind('_');
  if (p == std::string::npos || p == 0 || p + 1 == atom.size()) return false;
  for (size_t i = p + 1; i < atom.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(atom[i]))) return false;
  *base = atom.substr(0, p);
  return true;
}

bool ends_with_path(const std::string& full, const std::string& suffix) {
  if (suffix.empty() || full == suffix) return full == suffix;
  return full.size() > suffix.size() &&
         full.compare(full.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         full[full.size() - suffix.size() - 1] == '.';
}

}  // namespace

std::string module_path_tag(const std::string& path) {
  return kTag + path;
}

bool parse_module_path_tag(const std::string& doc, std::string* path) {
  if (doc.rfind(kTag, 0) != 0) return false;
  *path = doc.substr(std::char_traits<char>::length(kTag));
  size_t nl = path->find('\n');
  if (nl != std::string::npos) path->resize(nl);
  return true;
}

std::string module_path_from_param(const std::string& name) {
  if (name.rfind("onnx::", 0) == 0) return "";
  std::vector<std::string> atoms = split(name, '.');
  if (atoms.size() < 2 || !is_identifier(atoms.back())) return "";
  for (const auto& a : atoms)
    if (a.empty()) return "";
  return join(atoms, atoms.size() - 1);
}

std::vector<std::string> derive_module_paths(const std::vector<NodeNaming>& nodes) {
  const size_t n = nodes.size();
  std::vector<std::vector<std::string>> atoms(n);
  std::vector<bool> scoped(n);
  std::set<std::string> prefixes;                          // every raw scope path and its parents
  std::map<std::string, std::set<std::string>> params_at;  // raw scope path -> weights read there
  for (size_t i = 0; i < n; ++i) {
    scoped[i] = scope_atoms(nodes[i].name, &atoms[i]);
    for (size_t k = 1; k <= atoms[i].size(); ++k) prefixes.insert(join(atoms[i], k));
    auto& ps = params_at[join(atoms[i], atoms[i].size())];
    ps.insert(nodes[i].params.begin(), nodes[i].params.end());
  }
  std::vector<std::string> out(n);
  for (size_t i = 0; i < n; ++i) {
    const NodeNaming& nd = nodes[i];
    if (parse_module_path_tag(nd.doc_string, &out[i])) continue;
    std::string from_param;
    for (const auto& p : nd.params)
      if (!(from_param = module_path_from_param(p)).empty()) break;
    if (!scoped[i] || atoms[i].empty()) {
      out[i] = from_param;
      continue;
    }
    std::vector<std::string> a = atoms[i];
    const std::string raw = join(a, a.size());
    if (!from_param.empty() && ends_with_path(from_param, raw)) {
      out[i] = from_param;
      continue;
    }
    // Undo the `_N` suffix of repeated module calls.
    for (size_t k = 0; k < a.size(); ++k) {
      std::string base;
      if (!strip_call_suffix(a[k], &base)) continue;
      std::vector<std::string> cand = a;
      cand[k] = base;
      if (!prefixes.count(join(cand, k + 1))) continue;
      if (!nd.params.empty()) {
        // A module called twice reads the same weights both times.
        auto it = params_at.find(join(cand, cand.size()));
        bool shared = false;
        if (it != params_at.end())
          for (const auto& p : nd.params) shared |= it->second.count(p) > 0;
        if (!shared) continue;
      }
      a = cand;
    }
    out[i] = join(a, a.size());
    if (!from_param.empty() && ends_with_path(from_param, out[i])) out[i] = from_param;
  }
  return out;
}

}  // namespace mpq::onnx_io
