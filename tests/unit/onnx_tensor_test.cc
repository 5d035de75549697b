// TensorProto and AttributeProto conversions: every mpq dtype through raw_data and the typed
// fields, and every attribute kind.
#include <gtest/gtest.h>

#include "frontend/onnx/attributes.h"
#include "frontend/onnx/tensor_proto.h"

namespace mpq::onnx_io {
namespace {

TEST(OnnxTensor, EveryDtypeRoundTripsThroughRawData) {
  for (DType dt : {DType::f32, DType::f16, DType::bf16, DType::i8, DType::u8, DType::i32,
                   DType::i64, DType::boolean}) {
    Tensor t(dt, {2, 3});
    for (int i = 0; i < 6; ++i)
      store_from_double(t.raw(), dt, i, dt == DType::boolean ? i % 2 : i - 2);
    onnx::TensorProto p;
    tensor_to_proto(t, "t", &p);
    EXPECT_EQ(p.data_type(), dtype_info(dt).onnx_code);
    Tensor back = tensor_from_proto(p);
    EXPECT_EQ(back.dtype(), dt);
    EXPECT_EQ(back.shape(), (Shape{2, 3}));
    EXPECT_EQ(back.to_floats(), t.to_floats()) << dtype_name(dt);
  }
}

TEST(OnnxTensor, TypedFields) {
  onnx::TensorProto p;
  p.set_name("f");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(2);
  p.add_float_data(1.5f), p.add_float_data(-2.f);
  EXPECT_EQ(tensor_from_proto(p).to_floats(), (std::vector<float>{1.5f, -2.f}));

  p.Clear();
  p.set_data_type(onnx::TensorProto::INT64);
  p.add_dims(3);
  for (int64_t v : {int64_t{-5}, int64_t{1} << 40, int64_t{7}}) p.add_int64_data(v);
  EXPECT_EQ(tensor_from_proto(p).to_int64s(), (std::vector<int64_t>{-5, int64_t{1} << 40, 7}));

  // int8 / uint8 / int32 / bool live in int32_data.
  p.Clear();
  p.set_data_type(onnx::TensorProto::INT8);
  p.add_dims(2);
  p.add_int32_data(-128), p.add_int32_data(127);
  EXPECT_EQ(tensor_from_proto(p).to_floats(), (std::vector<float>{-128, 127}));
  p.set_data_type(onnx::TensorProto::BOOL);
  EXPECT_EQ(tensor_from_proto(p).to_floats(), (std::vector<float>{1, 1}));

  // float16 / bfloat16: int32_data holds the bit patterns.
  p.Clear();
  p.set_data_type(onnx::TensorProto::FLOAT16);
  p.add_dims(2);
  p.add_int32_data(float_to_half(0.5f)), p.add_int32_data(float_to_half(-3.f));
  EXPECT_EQ(tensor_from_proto(p).to_floats(), (std::vector<float>{0.5f, -3.f}));
  p.set_data_type(onnx::TensorProto::BFLOAT16);
  p.set_int32_data(0, float_to_bf16(2.f)), p.set_int32_data(1, float_to_bf16(-0.25f));
  EXPECT_EQ(tensor_from_proto(p).to_floats(), (std::vector<float>{2.f, -0.25f}));

  // A scalar (no dims) and an empty tensor.
  p.Clear();
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_float_data(4.f);
  Tensor s = tensor_from_proto(p);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.to_floats(), (std::vector<float>{4.f}));
  p.Clear();
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(0);
  EXPECT_EQ(tensor_from_proto(p).numel(), 0);
}

TEST(OnnxTensor, BadTensorsAreRejectedNamingThem) {
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(onnx::TensorProto::DOUBLE);
  p.add_dims(1);
  p.add_double_data(1.0);
  try {
    tensor_from_proto(p);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kUnsupported);
    EXPECT_EQ(e.status().key, "w");
  }
  p.Clear();
  p.set_name("w");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(-1);
  EXPECT_THROW(tensor_from_proto(p), Error);
  p.set_dims(0, int64_t{1} << 40), p.add_dims(int64_t{1} << 40);  // element count overflows
  EXPECT_THROW(tensor_from_proto(p), Error);
  p.Clear();
  p.set_name("w");
  p.set_data_type(onnx::TensorProto::INT32);
  p.add_dims(2);
  p.set_raw_data(std::string(7, '\0'));  // 8 bytes needed
  try {
    tensor_from_proto(p);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_EQ(e.status().key, "w");
  }
}

TEST(OnnxTensor, TypeProtos) {
  onnx::TypeProto t;
  type_to_proto(DType::u8, {-1, 3}, &t);
  DType dt;
  Shape s;
  std::string why;
  ASSERT_TRUE(type_from_proto(t, &dt, &s, &why));
  EXPECT_EQ(dt, DType::u8);
  EXPECT_EQ(s, (Shape{-1, 3}));
  t.mutable_tensor_type()->set_elem_type(onnx::TensorProto::STRING);
  EXPECT_FALSE(type_from_proto(t, &dt, &s, &why));
  EXPECT_NE(why.find("STRING"), std::string::npos);
}

TEST(OnnxAttributes, EveryKindRoundTrips) {
  std::vector<AttrValue> values = {int64_t{-3},
                                   2.5f,
                                   std::string("same_upper"),
                                   std::vector<int64_t>{1, 2, 3},
                                   std::vector<float>{0.5f, -1.f},
                                   std::vector<std::string>{"a", "b"},
                                   Tensor::from<int64_t>({2}, {4, 5})};
  for (const AttrValue& v : values) {
    onnx::AttributeProto p;
    attr_to_proto("k", v, &p);
    EXPECT_EQ(p.name(), "k");
    AttrValue back = attr_from_proto(p);
    EXPECT_EQ(attr_value_str(back), attr_value_str(v));
    EXPECT_EQ(attr_value_type(back), attr_value_type(v));
  }
  // Old files leave `type` unset: the field present decides.
  onnx::AttributeProto old;
  old.set_name("alpha");
  old.set_f(0.2f);
  EXPECT_EQ(std::get<float>(attr_from_proto(old)), 0.2f);
  onnx::AttributeProto graph;
  graph.set_name("then_branch");
  graph.set_type(onnx::AttributeProto::GRAPH);
  try {
    attr_from_proto(graph);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kUnsupported);
    EXPECT_EQ(e.status().key, "then_branch");
  }
}

}  // namespace
}  // namespace mpq::onnx_io
