#include "backends/cpu/train/common.h"

namespace mpq::train::dnnlk {

dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

memory::desc slot_desc(const Slot& s) {
  static const tag kPlainTags[] = {tag::a, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde};
  const size_t r = s.shape.size();
  if (r == 0) return memory::desc({1}, dt::f32, tag::a);
  if (r > 5) return memory::desc({shape_numel(s.shape)}, dt::f32, tag::a);
  if (r == 4 && s.layout == Layout::kNHWC)
    return memory::desc(cpu::dims_of(s.shape), dt::f32, tag::nhwc);
  return memory::desc(cpu::dims_of(s.shape), dt::f32, kPlainTags[r]);
}

memory::desc flat_desc(int64_t n) {
  return memory::desc({n}, dt::f32, tag::a);
}

memory wrap(const memory::desc& md, const Tensor& t) {
  return memory(md, engine(), const_cast<void*>(t.raw()));
}
memory wrap(const memory::desc& md, void* p) {
  return cpu::mem(md, p);
}

void Reorder::init(const memory::desc& user, const memory::desc& prim) {
  needed_ = user != prim;
  user_ = memory(user, engine(), DNNL_MEMORY_NONE);
  if (needed_) {
    prim_ = memory(prim, engine());
  } else {
    prim_ = user_;
  }
  has_fwd_ = has_back_ = false;
}

memory Reorder::to_prim(void* p) {
  user_.set_data_handle(p);
  if (!needed_) return user_;
  if (!has_fwd_) fwd_ = dnnl::reorder(user_, prim_), has_fwd_ = true;
  fwd_.execute(stream(), user_, prim_);
  stream().wait();
  return prim_;
}

memory Reorder::prim_target(void* p) {
  user_.set_data_handle(p);
  return needed_ ? prim_ : user_;
}

void Reorder::to_user(void* p) {
  if (!needed_) return;
  user_.set_data_handle(p);
  if (!has_back_) back_ = dnnl::reorder(prim_, user_), has_back_ = true;
  back_.execute(stream(), prim_, user_);
  stream().wait();
}

void exec(const dnnl::primitive& p, const std::unordered_map<int, memory>& args) {
  p.execute(stream(), args);
  stream().wait();
}

}  // namespace mpq::train::dnnlk
