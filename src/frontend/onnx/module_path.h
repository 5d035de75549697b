// PyTorch module paths of ONNX nodes, so that configs can select layers by the names PyTorch users
// write (`layer1.0.conv1`). Sources, best first:
//  1. mpq's own tag in the node's doc_string (written by the exporter, so a round trip keeps
//  paths);
//  2. the exporter's scoped node name (torch >= 1.13): `/layer1/layer1.0/conv1/Conv`. Each scope
//     component is a module's name relative to its nearest non-numeric ancestor ("layer1.0",
//     "downsample.0", "conv.0.0"), so the path is the last dotted atom of every component joined;
//     a second call of the same module gets a `_N` suffix ("relu_1"), stripped when the base scope
//     exists too (and, for nodes with weights, when both calls share a weight);
//  3. the name of a parameter the node reads (`layer1.0.conv1.weight` -> `layer1.0.conv1`), also
//     used to complete a scope that skips a parent module.
// A node inside a module's forward that is not itself a module call (e.g. the residual Add in
// `/layer1/layer1.0/Add`) gets the enclosing module's path.
#pragma once

#include <string>
#include <vector>

namespace mpq::onnx_io {

struct NodeNaming {
  std::string name;  // the node name as written in the file (may be empty)
  std::string doc_string;
  std::vector<std::string> params;  // names of the initializers the node reads
};

std::vector<std::string> derive_module_paths(const std::vector<NodeNaming>& nodes);

// The doc_string tag the exporter writes and (1) reads back.
std::string module_path_tag(const std::string& path);
bool parse_module_path_tag(const std::string& doc_string, std::string* path);

// `layer1.0.conv1.weight` -> `layer1.0.conv1`; "" for names that do not look like a parameter.
std::string module_path_from_param(const std::string& name);

}  // namespace mpq::onnx_io
