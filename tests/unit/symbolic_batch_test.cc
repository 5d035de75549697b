// The symbolic-batch pass: shape computations that do not depend on the batch fold to constants,
// Reshape/Expand targets that do are rewritten into a batch-independent form (checked against the
// reference executor on the original graph at several batches), each value's batch dim is found
// (any one dim, as a multiple of the batch), and shapes that stay unknown are reported naming the
// value and the node that produced them.
#include "passes/symbolic_batch.h"

#include <gtest/gtest.h>

#include "core/limits.h"
#include "engine_test_util.h"
#include "passes/pass.h"

namespace mpq {
namespace {

using testing::add;
using testing::random_tensor;

Value* ints(Graph& g, const std::string& name, std::vector<int64_t> v) {
  return g.add_constant(name, Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v));
}

// Shape(x)[i] as a 1-element vector (Gather with a scalar index, then Unsqueeze), as torch exports
// x.size(i).
Value* dim_of(Graph& g, Value* x, int64_t i, const std::string& tag) {
  Node* s = add(g, "Shape", {x}, {}, tag + "_shape");
  Node* d =
      add(g, "Gather", {s->outputs[0], g.add_constant(tag + "_i", Tensor::from<int64_t>({}, {i}))},
          {}, tag + "_gather");
  return add(g, "Unsqueeze", {d->outputs[0], ints(g, tag + "_axes", {0})}, {}, tag + "_unsq")
      ->outputs[0];
}

template <typename F>
Status expect_error(F f, Code code) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, code) << e.what();
    return e.status();
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

int count_op(const Graph& g, OpKind k) {
  int c = 0;
  for (const auto& n : g.nodes()) c += n->op == k;
  return c;
}

void optimize(Graph& g) {
  passes::PassContext ctx;
  passes::optimize(g, ctx);
}

void expect_same(const Graph& a, const Graph& b, const Shape& in_shape) {
  Rng rng(11);
  for (int64_t batch : {1, 3}) {
    Shape s = in_shape;
    s[0] = batch;
    std::vector<Tensor> in{random_tensor(rng, s)};
    auto ya = ReferenceExecutor(a).run(in);
    auto yb = ReferenceExecutor(b).run(in);
    ASSERT_EQ(ya.size(), yb.size());
    for (size_t i = 0; i < ya.size(); ++i) {
      ASSERT_EQ(ya[i].shape(), yb[i].shape());
      EXPECT_EQ(testing::max_diff(ya[i], yb[i]), 0.f);
    }
  }
}

// Channel shuffle as shufflenet exports it: view(B, 2, C/2, H, W) -> transpose -> view(B, -1, H, W)
// with B, C, H, W read from Shape(x).
TEST(SymbolicBatch, ChannelShuffleReshapesBecomeBatchIndependent) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 4, 3, 3});
  Value* b = dim_of(g, x, 0, "b");
  Value* c = dim_of(g, x, 1, "c");
  Value* half = add(g, "Div", {c, ints(g, "two", {2})}, {}, "half")->outputs[0];
  Value* h = dim_of(g, x, 2, "h");
  Value* w = dim_of(g, x, 3, "w");
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  Value* s5 = add(g, "Concat", {b, ints(g, "groups", {2}), half, h, w}, axis0, "s5")->outputs[0];
  Node* r1 = add(g, "Reshape", {x, s5}, {}, "r1");
  Attributes perm;
  perm.set("perm", std::vector<int64_t>{0, 2, 1, 3, 4});
  Node* t = add(g, "Transpose", {r1->outputs[0]}, perm, "t");
  Value* s4 = add(g, "Concat", {b, ints(g, "m1", {-1}), h, w}, axis0, "s4")->outputs[0];
  Node* r2 = add(g, "Reshape", {t->outputs[0], s4}, {}, "r2");
  g.add_output(r2->outputs[0]);
  auto before = g.clone();

  optimize(g);
  EXPECT_EQ(count_op(g, OpKind::Shape), 0);
  EXPECT_EQ(count_op(g, OpKind::Concat), 0);
  Node* n1 = g.find_node("r1");
  Node* n2 = g.find_node("r2");
  ASSERT_TRUE(n1 && n2);
  EXPECT_EQ(n1->inputs[1]->constant->to_int64s(), (std::vector<int64_t>{0, 2, 2, 3, 3}));
  EXPECT_EQ(n2->inputs[1]->constant->to_int64s(), (std::vector<int64_t>{0, -1, 3, 3}));
  EXPECT_EQ(n2->outputs[0]->shape, (Shape{-1, 4, 3, 3}));
  auto layout = passes::batch_layout(g);
  ASSERT_TRUE(layout.count(n2->outputs[0]->name));
  EXPECT_EQ(layout[n2->outputs[0]->name].dim, 0);
  EXPECT_EQ(layout[n2->outputs[0]->name].mult, 1);
  expect_same(*before, g, {1, 4, 3, 3});
}

// vit's class token: expand(B, -1, -1) exported through ConstantOfShape / Equal / Where.
TEST(SymbolicBatch, ClassTokenExpandReadsTheBatchAtRunTime) {
  Rng rng(2);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 5, 4});
  Value* tok = g.add_constant("tok", random_tensor(rng, {1, 1, 4}));
  Value* b = dim_of(g, x, 0, "b");
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  Value* spec = add(g, "Concat", {b, ints(g, "m1", {-1, -1})}, axis0, "spec")->outputs[0];
  Attributes one;
  one.set("value", Tensor::from<int64_t>({1}, {1}));
  Value* ones = add(g, "ConstantOfShape", {ints(g, "len", {3})}, one, "ones")->outputs[0];
  Value* eq = add(g, "Equal", {spec, ints(g, "m1b", {-1})}, {}, "eq")->outputs[0];
  Value* shape = add(g, "Where", {eq, ones, spec}, {}, "where")->outputs[0];
  Node* e = add(g, "Expand", {tok, shape}, {}, "expand");
  Node* cat = add(
      g, "Concat", {e->outputs[0], x},
      [] {
        Attributes a;
        a.set("axis", int64_t{1});
        return a;
      }(),
      "cat");
  g.add_output(cat->outputs[0]);
  auto before = g.clone();

  optimize(g);
  Node* n = g.find_node("expand");
  ASSERT_TRUE(n);
  ASSERT_EQ(n->inputs.size(), 3u);
  EXPECT_EQ(n->inputs[1]->constant->to_int64s(), (std::vector<int64_t>{-1, 1, 1}));
  EXPECT_EQ(n->inputs[2], g.inputs()[0]);
  EXPECT_EQ(n->outputs[0]->shape, (Shape{-1, 1, 4}));
  EXPECT_EQ(count_op(g, OpKind::Where), 0);
  expect_same(*before, g, {1, 5, 4});
}

TEST(SymbolicBatch, ReshapeWithTwoBatchEntriesIsRejectedNamingTheNode) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 4});
  Value* b = dim_of(g, x, 0, "b");
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  Value* s = add(g, "Concat", {b, b}, axis0, "s")->outputs[0];
  Node* r = add(g, "Reshape", {x, s}, {}, "bad_reshape");
  g.add_output(r->outputs[0]);
  Status st = expect_error([&] { optimize(g); }, Code::kUnsupported);
  EXPECT_EQ(st.node, "bad_reshape");
  EXPECT_NE(st.message.find("2 entries depend on the batch"), std::string::npos) << st.message;
}

// Attention as torch exports it: [seq, batch, dim] -> [seq, batch * heads, dim / heads]. The batch
// may sit in any one dim, as a multiple.
TEST(SymbolicBatch, BatchOutsideDimZeroAndMultiplesOfIt) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 3, 8});
  Attributes perm;
  perm.set("perm", std::vector<int64_t>{1, 0, 2});
  Node* t = add(g, "Transpose", {x}, perm, "to_seq_major");
  Value* b = dim_of(g, x, 0, "b");
  Value* bh = add(g, "Mul", {b, ints(g, "heads", {2})}, {}, "bh")->outputs[0];
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  Value* spec =
      add(g, "Concat", {ints(g, "seq", {3}), bh, ints(g, "hd", {4})}, axis0, "spec")->outputs[0];
  Node* r = add(g, "Reshape", {t->outputs[0], spec}, {}, "split_heads");
  Node* t2 = add(g, "Transpose", {r->outputs[0]}, perm, "heads_major");
  g.add_output(t2->outputs[0]);
  auto before = g.clone();

  optimize(g);
  EXPECT_EQ(g.find_node("split_heads")->inputs[1]->constant->to_int64s(),
            (std::vector<int64_t>{3, -1, 4}));
  auto layout = passes::batch_layout(g);
  const auto& a = layout.at(t->outputs[0]->name);
  EXPECT_EQ(a.dim, 1);
  EXPECT_EQ(a.mult, 1);
  const auto& c = layout.at(r->outputs[0]->name);
  EXPECT_EQ(c.dim, 1);
  EXPECT_EQ(c.mult, 2);
  const auto& d = layout.at(t2->outputs[0]->name);
  EXPECT_EQ(d.dim, 0);
  EXPECT_EQ(d.mult, 2);
  expect_same(*before, g, {1, 3, 8});
}

// x.shape[:-1] + (3, 2) with the slice's end computed (rank - 1), as newer exporters write it: the
// target's length is unknown until its values are, so inference takes it from a sample batch,
// and the symbolic-batch pass then makes the target batch-independent.
TEST(SymbolicBatch, TargetOfComputedLengthIsResolved) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 4, 6});
  Value* shape = add(g, "Shape", {x}, {}, "shape")->outputs[0];
  Value* rank = add(g, "Shape", {shape}, {}, "rank")->outputs[0];
  Value* end = add(g, "Sub", {rank, ints(g, "one", {1})}, {}, "end")->outputs[0];
  Value* lead = add(g, "Slice", {shape, ints(g, "zero", {0}), end}, {}, "lead")->outputs[0];
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  Value* spec = add(g, "Concat", {lead, ints(g, "tail", {3, 2})}, axis0, "spec")->outputs[0];
  // Built without inferring: the node-by-node inference of `add` has no sample batch to ask.
  Node* r = g.add_node(OpKind::Reshape, "split", {x, spec}, 1, {});
  apply_attr_schema(*r);
  EXPECT_THROW(infer_node(*r), Error);
  Node* relu = g.add_node(OpKind::Relu, "relu", {r->outputs[0]}, 1, {});
  g.add_output(relu->outputs[0]);
  ASSERT_NO_THROW(infer_shapes(g));
  EXPECT_EQ(r->outputs[0]->shape.size(), 4u);
  auto before = g.clone();
  optimize(g);
  EXPECT_EQ(r->outputs[0]->shape, (Shape{-1, 4, 3, 2}));
  EXPECT_EQ(passes::batch_layout(g).at(r->outputs[0]->name).dim, 0);
  expect_same(*before, g, {1, 4, 6});
}

// vgg's first activation is 3.2M elements an image: at the sample batches the whole tensor passes
// the per-tensor element cap, which applies to one image, so the layout must still resolve.
TEST(SymbolicBatch, LargeActivationsResolveAtTheSampleBatches) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 64, 256, 256});
  Node* r = add(g, "Relu", {x}, {}, "relu");
  g.add_output(r->outputs[0]);
  ASSERT_GT(int64_t{3001} * 64 * 256 * 256, max_tensor_elements());
  optimize(g);
  auto layout = passes::batch_layout(g);
  EXPECT_EQ(layout.at(r->outputs[0]->name).dim, 0);
  EXPECT_EQ(layout.at(r->outputs[0]->name).mult, 1);
}

TEST(SymbolicBatch, UnresolvedDimNamesTheValueAndTheProducer) {
  // Two dims that scale with the batch: [B, 3] x [3, B].
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 3});
  Attributes perm;
  perm.set("perm", std::vector<int64_t>{1, 0});
  Node* t = add(g, "Transpose", {x}, perm, "xt");
  Node* m = add(g, "MatMul", {x, t->outputs[0]}, {}, "gram");
  g.add_output(m->outputs[0]);
  optimize(g);
  Status st = expect_error([&] { passes::batch_layout(g); }, Code::kUnsupported);
  EXPECT_EQ(st.node, "gram");
  EXPECT_EQ(st.key, m->outputs[0]->name);
  EXPECT_NE(st.message.find("produced by MatMul node 'gram'"), std::string::npos) << st.message;
  EXPECT_NE(st.message.find("dim 1 (batch)"), std::string::npos) << st.message;
  EXPECT_NE(st.message.find("a second dim scales with the batch"), std::string::npos) << st.message;

  // A graph input with an unknown dim other than the batch.
  Graph h;
  Value* y = h.add_input("y", DType::f32, {-1, -1});
  h.add_output(add(h, "Relu", {y}, {}, "relu")->outputs[0]);
  st = expect_error([&] { passes::batch_layout(h); }, Code::kUnsupported);
  EXPECT_EQ(st.key, "y");
  EXPECT_NE(st.message.find("graph input 'y' has dim 1 unknown"), std::string::npos) << st.message;
}

}  // namespace
}  // namespace mpq
