#include "ir/graph.h"

#include <algorithm>
#include <unordered_set>

#include "ir/op_def.h"

namespace mpq {

const OpDef& Node::def() const { return op_def(op); }
const char* Node::op_name() const { return def().name.c_str(); }

Value* Graph::add_value(const std::string& name) {
  if (value_index_.count(name))
    invalid_input("duplicate value name (each tensor must be produced once)").key(name).raise();
  values_.push_back(std::make_unique<Value>());
  Value* v = values_.back().get();
  v->name = name;
  value_index_[name] = v;
  return v;
}

Value* Graph::add_input(const std::string& name, DType dtype, Shape shape) {
  Value* v = add_value(name);
  v->dtype = dtype;
  v->shape = std::move(shape);
  v->has_type = true;
  v->is_graph_input = true;
  inputs_.push_back(v);
  return v;
}

Value* Graph::add_constant(const std::string& name, Tensor t) {
  Value* v = add_value(name);
  v->dtype = t.dtype();
  v->shape = t.shape();
  v->has_type = true;
  v->constant = std::move(t);
  return v;
}

Node* Graph::add_node(OpKind op, const std::string& name, std::vector<Value*> inputs,
                      std::vector<std::string> output_names, Attributes attrs) {
  std::string nname = name.empty() ? unique_node_name(op_def(op).name) : name;
  if (node_index_.count(nname)) nname = unique_node_name(nname);
  nodes_.push_back(std::make_unique<Node>());
  Node* n = nodes_.back().get();
  n->name = nname;
  n->op = op;
  n->attrs = std::move(attrs);
  n->inputs = std::move(inputs);
  for (Value* in : n->inputs)
    if (in) in->consumers.push_back(n);
  for (size_t i = 0; i < output_names.size(); ++i) {
    Value* out = add_value(output_names[i]);
    out->producer = n;
    out->producer_index = static_cast<int>(i);
    n->outputs.push_back(out);
  }
  node_index_[nname] = n;
  return n;
}

Node* Graph::add_node(OpKind op, const std::string& name, std::vector<Value*> inputs,
                      int num_outputs, Attributes attrs) {
  std::string base = name.empty() ? unique_node_name(op_def(op).name) : name;
  std::vector<std::string> outs;
  for (int i = 0; i < num_outputs; ++i)
    outs.push_back(unique_value_name(num_outputs == 1 ? base + "_out" : str(base, "_out", i)));
  return add_node(op, base, std::move(inputs), std::move(outs), std::move(attrs));
}

void Graph::set_input(Node* n, size_t i, Value* v) {
  Value* old = n->inputs[i];
  if (old) {
    auto it = std::find(old->consumers.begin(), old->consumers.end(), n);
    if (it != old->consumers.end()) old->consumers.erase(it);
  }
  n->inputs[i] = v;
  if (v) v->consumers.push_back(n);
}

void Graph::replace_all_uses(Value* from, Value* to) {
  std::vector<Node*> users = from->consumers;
  for (Node* n : users)
    for (size_t i = 0; i < n->inputs.size(); ++i)
      if (n->inputs[i] == from) set_input(n, i, to);
  for (auto& o : outputs_)
    if (o == from) o = to;
}

void Graph::remove_node(Node* n) {
  for (size_t i = 0; i < n->inputs.size(); ++i) set_input(n, i, nullptr);
  for (Value* out : n->outputs) out->producer = nullptr;
  node_index_.erase(n->name);
  auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](auto& p) { return p.get() == n; });
  if (it != nodes_.end()) nodes_.erase(it);
}

void Graph::remove_unused() {
  std::unordered_set<const Value*> live(outputs_.begin(), outputs_.end());
  bool changed = true;
  while (changed) {  // iterate to a fixed point from the outputs backwards
    changed = false;
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
      Node* n = it->get();
      bool used = false;
      for (Value* o : n->outputs) used |= live.count(o) || !o->consumers.empty();
      if (!used) {
        remove_node(n);
        changed = true;
        break;
      }
    }
  }
  std::unordered_set<const Value*> keep(inputs_.begin(), inputs_.end());
  keep.insert(outputs_.begin(), outputs_.end());
  for (auto& n : nodes_) {
    keep.insert(n->inputs.begin(), n->inputs.end());
    keep.insert(n->outputs.begin(), n->outputs.end());
  }
  std::erase_if(values_, [&](const std::unique_ptr<Value>& v) {
    if (keep.count(v.get())) return false;
    value_index_.erase(v->name);
    return true;
  });
}

void Graph::sort() {
  std::unordered_map<const Node*, int> pending;
  for (auto& n : nodes_) {
    int deps = 0;
    for (Value* in : n->inputs)
      if (in && in->producer) ++deps;
    pending[n.get()] = deps;
  }
  std::vector<Node*> ready, order;
  for (auto& n : nodes_)
    if (pending[n.get()] == 0) ready.push_back(n.get());
  // Keep the original relative order where possible (stable): process in insertion order.
  std::unordered_map<const Node*, size_t> pos;
  for (size_t i = 0; i < nodes_.size(); ++i) pos[nodes_[i].get()] = i;
  auto cmp = [&](Node* a, Node* b) { return pos[a] > pos[b]; };
  std::make_heap(ready.begin(), ready.end(), cmp);
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), cmp);
    Node* n = ready.back();
    ready.pop_back();
    order.push_back(n);
    for (Value* out : n->outputs)
      for (Node* c : out->consumers)
        for (Value* in : c->inputs)
          if (in == out && --pending[c] == 0) {
            ready.push_back(c);
            std::push_heap(ready.begin(), ready.end(), cmp);
          }
  }
  if (order.size() != nodes_.size()) {
    for (auto& n : nodes_)
      if (pending[n.get()] > 0)
        invalid_input("graph has a cycle through this node").node(n->name).raise();
  }
  std::vector<std::unique_ptr<Node>> sorted;
  for (Node* n : order) {
    auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](auto& p) { return p.get() == n; });
    sorted.push_back(std::move(*it));
  }
  nodes_ = std::move(sorted);
}

std::string Graph::unique_value_name(const std::string& base) const {
  if (!value_index_.count(base)) return base;
  for (int i = 1;; ++i) {
    std::string c = str(base, "_", i);
    if (!value_index_.count(c)) return c;
  }
}

std::string Graph::unique_node_name(const std::string& base) const {
  if (!node_index_.count(base)) return base;
  for (int i = 1;; ++i) {
    std::string c = str(base, "_", i);
    if (!node_index_.count(c)) return c;
  }
}

Value* Graph::find_value(const std::string& name) const {
  auto it = value_index_.find(name);
  return it == value_index_.end() ? nullptr : it->second;
}

Node* Graph::find_node(const std::string& name) const {
  auto it = node_index_.find(name);
  return it == node_index_.end() ? nullptr : it->second;
}

std::unique_ptr<Graph> Graph::clone() const {
  auto g = std::make_unique<Graph>();
  g->name = name;
  g->opset = opset;
  std::unordered_map<const Value*, Value*> vmap;
  for (auto& v : values_) {
    if (v->producer) continue;  // created with their producer below
    Value* nv = g->add_value(v->name);
    *nv = Value{v->name, v->dtype, v->shape, v->has_type, nullptr, 0, {}, v->constant,
                v->is_graph_input};
    vmap[v.get()] = nv;
  }
  for (Value* in : inputs_) g->inputs_.push_back(vmap.at(in));
  for (auto& n : nodes_) {
    std::vector<Value*> ins;
    for (Value* in : n->inputs) ins.push_back(in ? vmap.at(in) : nullptr);
    std::vector<std::string> outs;
    for (Value* o : n->outputs) outs.push_back(o->name);
    Node* nn = g->add_node(n->op, n->name, ins, outs, n->attrs);
    nn->module_path = n->module_path;
    for (size_t i = 0; i < n->outputs.size(); ++i) {
      Value* o = n->outputs[i];
      Value* no = nn->outputs[i];
      no->dtype = o->dtype, no->shape = o->shape, no->has_type = o->has_type;
      no->constant = o->constant;
      vmap[o] = no;
    }
  }
  for (Value* o : outputs_) g->outputs_.push_back(vmap.at(o));
  return g;
}

}  // namespace mpq
