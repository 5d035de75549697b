// JSON reading and writing of CalibrationTable: mpq's full table and NNI's calibration configs.
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/input_file.h"
#include "core/temp_files.h"
#include "quant/calibration_table.h"
#include "quant/name_match.h"
#include "quant/nni_keys.h"

namespace mpq::quant {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// ---------------------------------------------------------------- writing

// A float as the double whose shortest decimal form is the float's shortest form, when that
// reads back to the same float; else the float's exact value. Keeps files readable ("0.1", not
// "0.10000000149011612") and every float exact.
}  // namespace

double json_float(float f) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), f);
  *res.ptr = '\0';
  const double d = std::strtod(buf, nullptr);
  return static_cast<float>(d) == f ? d : static_cast<double>(f);
}

namespace {

ordered_json float_array(const std::vector<float>& v) {
  ordered_json a = ordered_json::array();
  for (float f : v) a.push_back(json_float(f));
  return a;
}

void put_spec(ordered_json& o, const char* type, const std::optional<TypeQuantSpec>& s) {
  if (!s) return;
  o[str(type, "_dtype")] = quant_dtype_name(s->dtype);
  o[str(type, "_scheme")] = quant_scheme_name(s->scheme);
}

ordered_json layer_json(const LayerPrecision& l) {
  ordered_json o = ordered_json::object();
  if (l.weight_bits) {
    o["weight_bits"] = l.weight_bits;
    if (!l.weight_scale.empty()) o["weight_scale"] = float_array(l.weight_scale);
    if (!l.weight_zero_point.empty()) o["weight_zero_point"] = l.weight_zero_point;
  }
  if (l.input_bits) o["input_bits"] = l.input_bits;
  if (l.tracked_min_input) o["tracked_min_input"] = json_float(*l.tracked_min_input);
  if (l.tracked_max_input) o["tracked_max_input"] = json_float(*l.tracked_max_input);
  if (l.output_bits) o["output_bits"] = l.output_bits;
  if (l.tracked_min_output) o["tracked_min_output"] = json_float(*l.tracked_min_output);
  if (l.tracked_max_output) o["tracked_max_output"] = json_float(*l.tracked_max_output);
  if (l.tracked_min_weight) o["tracked_min_weight"] = json_float(*l.tracked_min_weight);
  if (l.tracked_max_weight) o["tracked_max_weight"] = json_float(*l.tracked_max_weight);
  auto put_qrange = [&](const char* type, const std::optional<std::pair<int32_t, int32_t>>& q) {
    if (!q) return;
    o[str("tracked_qmin_", type)] = q->first;
    o[str("tracked_qmax_", type)] = q->second;
  };
  put_qrange("weight", l.qrange_weight);
  put_qrange("input", l.qrange_input);
  put_qrange("output", l.qrange_output);
  put_spec(o, "weight", l.weight_quant);
  put_spec(o, "input", l.input_quant);
  put_spec(o, "output", l.output_quant);
  if (!l.source.empty()) o["source"] = l.source;
  return o;
}

// ---------------------------------------------------------------- reading

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
    invalid_input(msg).file(source_).key(key).raise();
  }

  const json& object(const json& v, const std::string& key) const {
    if (!v.is_object()) fail(key, str("expected a JSON object, got ", v.type_name()));
    return v;
  }

  double number(const json& v, const std::string& key) const {
    if (!v.is_number()) fail(key, str("expected a number, got ", v.type_name()));
    return v.get<double>();
  }

  // A finite float (ranges and scales).
  float finite(const json& v, const std::string& key) const {
    double d = number(v, key);
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max())
      fail(key, "value is not a finite float (NaN/inf ranges cannot be quantized)");
    return static_cast<float>(d);
  }

  int64_t integer(const json& v, const std::string& key) const {
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15)
        return static_cast<int64_t>(d);
    }
    fail(key, str("expected an integer, got ", v.is_number() ? v.dump() : v.type_name()));
  }

  int bits(const json& v, const std::string& key) const {
    if (!v.is_number_integer()) fail(key, str("bits must be an integer, got ", v.type_name()));
    int64_t b = v.get<int64_t>();
    if (b != 4 && b != 8 && b != 16 && b != 32)
      fail(key,
           str("bits must be 4, 8, 16 or 32 (int4 weights, int8, 16-bit float, fp32), got ", b));
    return static_cast<int>(b);
  }

  std::string string(const json& v, const std::string& key) const {
    if (!v.is_string()) fail(key, str("expected a string, got ", v.type_name()));
    return v.get<std::string>();
  }

  // A number or a list of numbers.
  std::vector<float> floats(const json& v, const std::string& key, bool positive) const {
    std::vector<float> out;
    auto one = [&](const json& e, const std::string& k) {
      float f = finite(e, k);
      if (positive && !(f > 0.f)) fail(k, str("scale must be > 0, got ", f));
      out.push_back(f);
    };
    if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) one(v[i], str(key, "[", i, "]"));
    } else {
      one(v, key);
    }
    return out;
  }

  // `key` maps a key's v2.5+ name to the name to report (prefix + the name as given).
  template <typename KeyName>
  void range(const json& o, const char* kmin, const char* kmax, KeyName key,
             std::optional<float>* lo, std::optional<float>* hi) const {
    const bool has_min = o.contains(kmin), has_max = o.contains(kmax);
    if (has_min != has_max)
      fail(key(has_min ? kmin : kmax),
           str("'", has_min ? kmin : kmax, "' is given without '", has_min ? kmax : kmin, "'"));
    if (!has_min) return;
    *lo = finite(o[kmin], key(kmin));
    *hi = finite(o[kmax], key(kmax));
    if (**lo > **hi) fail(key(kmin), str("min ", **lo, " > max ", **hi));
  }

  // tracked_qmin_<type> / tracked_qmax_<type>: an integer pair with qmin < qmax.
  template <typename KeyName>
  void qrange(const json& o, const std::string& type, KeyName key,
              std::optional<std::pair<int32_t, int32_t>>* out) const {
    const std::string kmin = "tracked_qmin_" + type, kmax = "tracked_qmax_" + type;
    const bool has_min = o.contains(kmin), has_max = o.contains(kmax);
    if (has_min != has_max)
      fail(key(has_min ? kmin : kmax),
           str("'", has_min ? kmin : kmax, "' is given without '", has_min ? kmax : kmin, "'"));
    if (!has_min) return;
    const int64_t lo = integer(o[kmin], key(kmin)), hi = integer(o[kmax], key(kmax));
    if (lo >= hi || lo < INT32_MIN || hi > INT32_MAX)
      fail(key(kmin), str("integer range [", lo, ", ", hi, "] is empty or out of the int32 range"));
    *out = std::make_pair(static_cast<int32_t>(lo), static_cast<int32_t>(hi));
  }

  std::optional<TypeQuantSpec> spec(const json& o, const std::string& type,
                                    const std::string& prefix) const {
    const std::string kd = type + "_dtype", ks = type + "_scheme";
    if (!o.contains(kd) && !o.contains(ks)) return std::nullopt;
    TypeQuantSpec s;
    if (o.contains(kd) && !parse_quant_dtype(string(o[kd], prefix + kd), &s.dtype))
      fail(prefix + kd, "expected \"int\" or \"uint\"");
    if (o.contains(ks) && !parse_quant_scheme(string(o[ks], prefix + ks), &s.scheme))
      fail(prefix + ks,
           "expected per_tensor_affine, per_tensor_symmetric, per_channel_affine or "
           "per_channel_symmetric");
    return s;
  }

  // One layer of NNI's calibration config (any version's key names) or of mpq's layers section.
  // Older names are read as their v2.5+ name; errors name the key as given.
  LayerPrecision layer(const json& given, const std::string& prefix, bool* old_names) const {
    static const std::vector<std::string> mpq_keys = {
        "weight_dtype", "weight_scheme", "input_dtype", "input_scheme",
        "output_dtype", "output_scheme", "source"};
    object(given, prefix.substr(0, prefix.size() - 1));
    json v = json::object();
    std::map<std::string, std::string> as_given;  // v2.5+ or mpq name -> the name in the file
    for (const auto& [k, e] : given.items()) {
      bool renamed = false;
      std::string name = nni_v25_key(k, &renamed);
      for (const auto& m : mpq_keys)
        if (k == m) name = k;
      if (name.empty()) {
        std::vector<std::string> known = nni_key_names();
        known.insert(known.end(), mpq_keys.begin(), mpq_keys.end());
        auto near = near_matches(k, known, 1);
        fail(prefix + k,
             str("unknown key",
                 near.empty() ? std::string() : str(" (did you mean '", near[0], "'?)")));
      }
      if (as_given.count(name))
        fail(prefix + k, str("both '", as_given[name], "' and '", k,
                             "' are given: one is NNI v2.2-2.4's name of the other"));
      *old_names |= renamed;
      as_given[name] = k;
      v[name] = e;
    }
    auto key = [&](const std::string& name) { return prefix + as_given[name]; };

    LayerPrecision l;
    l.source = "nni-config";
    if (v.contains("weight_bits")) l.weight_bits = bits(v["weight_bits"], key("weight_bits"));
    if (v.contains("input_bits")) l.input_bits = bits(v["input_bits"], key("input_bits"));
    if (v.contains("output_bits")) l.output_bits = bits(v["output_bits"], key("output_bits"));
    if (!l.weight_bits && !l.input_bits && !l.output_bits)
      fail(prefix.substr(0, prefix.size() - 1),
           "layer gives no weight_bits, input_bits or output_bits");
    range(v, "tracked_min_input", "tracked_max_input", key, &l.tracked_min_input,
          &l.tracked_max_input);
    range(v, "tracked_min_output", "tracked_max_output", key, &l.tracked_min_output,
          &l.tracked_max_output);
    range(v, "tracked_min_weight", "tracked_max_weight", key, &l.tracked_min_weight,
          &l.tracked_max_weight);
    qrange(v, "weight", key, &l.qrange_weight);
    qrange(v, "input", key, &l.qrange_input);
    qrange(v, "output", key, &l.qrange_output);
    if (v.contains("weight_scale"))
      l.weight_scale = floats(v["weight_scale"], key("weight_scale"), true);
    if (v.contains("weight_zero_point")) {
      const json& z = v["weight_zero_point"];
      const std::string k = key("weight_zero_point");
      auto one = [&](const json& e, const std::string& kk) {
        int64_t zp = integer(e, kk);
        if (zp < INT32_MIN || zp > INT32_MAX) fail(kk, "zero point out of the int32 range");
        l.weight_zero_point.push_back(static_cast<int32_t>(zp));
      };
      if (z.is_array()) {
        for (size_t i = 0; i < z.size(); ++i) one(z[i], str(k, "[", i, "]"));
      } else {
        one(z, k);
      }
      if (l.weight_scale.size() != l.weight_zero_point.size())
        fail(k, str(l.weight_zero_point.size(), " zero point(s) for ", l.weight_scale.size(),
                    " scale(s)"));
    }
    if ((!l.weight_scale.empty() || !l.weight_zero_point.empty()) && !l.weight_bits)
      fail(key(v.contains("weight_scale") ? "weight_scale" : "weight_zero_point"),
           "weight_scale is given without weight_bits");
    l.weight_quant = spec(v, "weight", prefix);
    l.input_quant = spec(v, "input", prefix);
    l.output_quant = spec(v, "output", prefix);
    if (v.contains("source")) l.source = string(v["source"], prefix + "source");
    return l;
  }

  TensorRange tensor(const json& v, const std::string& prefix) const {
    object(v, prefix.substr(0, prefix.size() - 1));
    TensorRange t;
    for (const auto& [k, e] : v.items()) {
      if (k == "min" || k == "max" || k == "method" || k == "stats") continue;
      fail(prefix + k, "unknown key (expected min, max, method, stats)");
    }
    if (!v.contains("min") || !v.contains("max"))
      fail(prefix + "min", "a tensor range needs min and max");
    t.min = finite(v["min"], prefix + "min");
    t.max = finite(v["max"], prefix + "max");
    if (t.min > t.max) fail(prefix + "min", str("min ", t.min, " > max ", t.max));
    if (v.contains("method")) t.method = string(v["method"], prefix + "method");
    if (v.contains("stats"))
      for (const auto& [k, e] : object(v["stats"], prefix + "stats").items())
        t.stats[k] = number(e, prefix + "stats." + k);
    return t;
  }

  WeightRange weight(const json& v, const std::string& prefix) const {
    object(v, prefix.substr(0, prefix.size() - 1));
    WeightRange w;
    for (const auto& [k, e] : v.items()) {
      if (k == "axis" || k == "min" || k == "max" || k == "method") continue;
      fail(prefix + k, "unknown key (expected axis, min, max, method)");
    }
    if (!v.contains("min") || !v.contains("max"))
      fail(prefix + "min", "a weight range needs min and max");
    if (v.contains("axis")) {
      int64_t a = integer(v["axis"], prefix + "axis");
      if (a < 0 || a > 7) fail(prefix + "axis", str("axis must be in 0..7, got ", a));
      w.axis = static_cast<int>(a);
    }
    w.min = floats(v["min"], prefix + "min", false);
    w.max = floats(v["max"], prefix + "max", false);
    if (w.min.size() != w.max.size())
      fail(prefix + "max", str(w.max.size(), " max value(s) for ", w.min.size(), " min value(s)"));
    for (size_t i = 0; i < w.min.size(); ++i)
      if (w.min[i] > w.max[i])
        fail(str(prefix, "min[", i, "]"), str("min ", w.min[i], " > max ", w.max[i]));
    if (v.contains("method")) w.method = string(v["method"], prefix + "method");
    return w;
  }

  CalibrationTable full_table(const json& j) const {
    CalibrationTable t;
    t.origin = "mpq";
    static const std::vector<std::string> known = {
        "format",    "format_version", "method",  "options", "model_hash",
        "data_hash", "num_samples",    "tensors", "weights", "layers"};
    for (const auto& [k, _] : j.items()) {
      bool ok = false;
      for (const auto& kk : known) ok |= k == kk;
      if (!ok) fail(k, "unknown key in an mpq calibration table");
    }
    if (!j.contains("format_version")) fail("format_version", "missing");
    int64_t ver = integer(j["format_version"], "format_version");
    if (ver > kCalibrationFormatVersion)
      fail("format_version",
           str("table written by a newer mpq (format ", ver, "); this mpq reads format ",
               kCalibrationFormatVersion, ": upgrade mpq or recalibrate"));
    if (ver < 1) fail("format_version", str("invalid format version ", ver));
    t.header.format_version = static_cast<int>(ver);
    if (j.contains("method")) t.header.method = string(j["method"], "method");
    if (j.contains("options")) t.header.options_json = object(j["options"], "options").dump();
    if (j.contains("model_hash")) t.header.model_hash = string(j["model_hash"], "model_hash");
    if (j.contains("data_hash")) t.header.data_hash = string(j["data_hash"], "data_hash");
    if (j.contains("num_samples")) {
      t.header.num_samples = integer(j["num_samples"], "num_samples");
      if (t.header.num_samples < 0) fail("num_samples", "must be >= 0");
    }
    if (j.contains("tensors"))
      for (const auto& [k, v] : object(j["tensors"], "tensors").items())
        t.tensors[k] = tensor(v, "tensors." + k + ".");
    if (j.contains("weights"))
      for (const auto& [k, v] : object(j["weights"], "weights").items())
        t.weights[k] = weight(v, "weights." + k + ".");
    if (j.contains("layers")) {
      bool old = false;
      for (const auto& [k, v] : object(j["layers"], "layers").items()) {
        t.layers[k] = layer(v, "layers." + k + ".", &old);
        if (!v.contains("source")) t.layers[k].source = "calibration";
      }
    }
    return t;
  }

  CalibrationTable nni_config(const json& j) const {
    CalibrationTable t;
    bool old = false;
    for (const auto& [k, v] : j.items()) t.layers[k] = layer(v, k + ".", &old);
    t.origin = old ? "nni-v2.2" : "nni-v2.5";
    t.header.method = "nni";
    return t;
  }

 private:
  std::string source_;
};

// nlohmann rejects NaN/Infinity literals (which Python's json.dump writes); say which key holds
// one.
[[noreturn]] void explain_parse_error(const std::string& text, size_t pos, const std::string& what,
                                      const std::string& source) {
  pos = std::min(pos, text.size());
  size_t colon = text.rfind(':', pos);
  if (colon != std::string::npos) {
    size_t v = text.find_first_not_of(" \t\r\n", colon + 1);
    std::string tok = v == std::string::npos ? "" : text.substr(v, 9);
    const bool huge = what.find("overflow") != std::string::npos;  // 1e999: not a float either
    if (huge || tok.rfind("NaN", 0) == 0 || tok.rfind("Infinity", 0) == 0 ||
        tok.rfind("-Infinity", 0) == 0) {
      // The key is the quoted string before the colon; the layer is the key of the enclosing
      // object.
      auto quoted_before = [&](size_t end) {
        size_t q2 = text.rfind('"', end);
        size_t q1 =
            q2 == std::string::npos || q2 == 0 ? std::string::npos : text.rfind('"', q2 - 1);
        return q1 == std::string::npos ? std::string() : text.substr(q1 + 1, q2 - q1 - 1);
      };
      std::string key = quoted_before(colon);
      int depth = 0;
      for (size_t i = colon; i-- > 0;) {
        if (text[i] == '}') ++depth;
        if (text[i] == '{' && depth-- == 0) {
          size_t c = text.rfind(':', i);
          if (c != std::string::npos && text.find_first_not_of(" \t\r\n", c + 1) == i)
            key = quoted_before(c) + "." + key;
          break;
        }
      }
      invalid_input("value is not a finite float (NaN/inf ranges cannot be quantized)")
          .file(source)
          .key(key)
          .raise();
    }
  }
  invalid_input(str("not valid JSON: ", what)).file(source).raise();
}

json parse_json(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    explain_parse_error(text, e.byte > 0 ? e.byte - 1 : 0, e.what(), source);
  } catch (const json::out_of_range& e) {
    // "number overflow parsing '-1e999'": find the number to name its key.
    std::string w = e.what();
    size_t q1 = w.find('\''), q2 = w.rfind('\'');
    size_t pos = q1 != std::string::npos && q2 > q1 ? text.find(w.substr(q1 + 1, q2 - q1 - 1)) : 0;
    explain_parse_error(text, pos == std::string::npos ? 0 : pos, w, source);
  } catch (const json::exception& e) {
    invalid_input(str("not valid JSON: ", e.what())).file(source).raise();
  }
}

}  // namespace

std::string calibration_table_to_json(const CalibrationTable& t) {
  ordered_json j;
  j["format"] = kCalibrationFormatName;
  j["format_version"] = t.header.format_version;
  j["method"] = t.header.method;
  ordered_json opts = ordered_json::object();
  try {
    // Sorted keys (plain json), so that a table read back writes the same bytes.
    opts = ordered_json::parse(
        json::parse(t.header.options_json.empty() ? "{}" : t.header.options_json).dump());
  } catch (const std::exception& e) {
    internal_error(str("calibration options are not valid JSON: ", e.what())).raise();
  }
  j["options"] = opts;
  j["model_hash"] = t.header.model_hash;
  j["data_hash"] = t.header.data_hash;
  j["num_samples"] = t.header.num_samples;
  ordered_json tensors = ordered_json::object();
  for (const auto& [name, r] : t.tensors) {
    ordered_json o;
    o["min"] = json_float(r.min);
    o["max"] = json_float(r.max);
    o["method"] = r.method;
    if (!r.stats.empty()) {
      ordered_json s = ordered_json::object();
      for (const auto& [k, v] : r.stats)
        if (!std::isfinite(v))
          continue;  // JSON has no NaN/inf
        else if (v == std::floor(v) && std::fabs(v) < 9e15)
          s[k] = static_cast<int64_t>(v);  // counts print as 2048, not 2048.0
        else
          s[k] = v;
      o["stats"] = s;
    }
    tensors[name] = o;
  }
  j["tensors"] = tensors;
  ordered_json weights = ordered_json::object();
  for (const auto& [name, w] : t.weights) {
    ordered_json o;
    o["axis"] = w.axis;
    o["method"] = w.method;
    o["min"] = float_array(w.min);
    o["max"] = float_array(w.max);
    weights[name] = o;
  }
  j["weights"] = weights;
  ordered_json layers = ordered_json::object();
  for (const auto& [key, l] : t.layers) layers[key] = layer_json(l);
  j["layers"] = layers;
  return j.dump(2) + "\n";
}

void write_calibration_table(const CalibrationTable& t, const std::string& path) {
  const std::string text = calibration_table_to_json(t);
  TempFileGuard tmp(temp_path_for(path));  // removed on failure and on SIGINT / SIGTERM
  {
    std::ofstream f(tmp.path(), std::ios::binary | std::ios::trunc);
    if (!f)
      invalid_input("cannot write the calibration table (check the directory exists)")
          .file(path)
          .raise();
    f << text;
    f.flush();
    if (!f) invalid_input("writing the calibration table failed (disk full?)").file(path).raise();
  }
  if (std::rename(tmp.path().c_str(), path.c_str()) != 0)
    invalid_input("cannot move the calibration table into place").file(path).raise();
  tmp.release();
}

CalibrationTable parse_calibration_table(const std::string& text, const std::string& source) {
  json j = parse_json(text, source);
  Reader r(source);
  if (j.is_array())
    invalid_input(
        "this is a list: a config_list (pass it with --config), not a calibration table or an NNI "
        "calibration config (an object of layer -> keys)")
        .file(source)
        .raise();
  if (!j.is_object())
    invalid_input(str("a calibration table must be a JSON object, got ", j.type_name()))
        .file(source)
        .raise();
  if (j.contains("format")) {
    if (!j["format"].is_string() || j["format"].get<std::string>() != kCalibrationFormatName)
      r.fail("format", str("unknown format ", j["format"].dump(), " (expected \"",
                           kCalibrationFormatName, "\")"));
    return r.full_table(j);
  }
  return r.nni_config(j);
}

CalibrationTable read_calibration_table(const std::string& path) {
  return parse_calibration_table(read_input_file(path, "calibration table (JSON)"), path);
}

}  // namespace mpq::quant
