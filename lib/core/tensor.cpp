// Tensor and Shape; see tensor.h.
#include "core/tensor.h"

#include <algorithm>
#include <cstring>

#include "core/memory_pool.h"
#include "core/parallel_grain.h"

namespace xb {

Shape::Shape(std::initializer_list<int64_t> d) {
    XB_CHECK(d.size() <= size_t(kMaxDims), "shape has {} dims, at most {}", d.size(), kMaxDims);
    for (int64_t v : d) {
        XB_CHECK(v >= 0, "negative dimension {}", v);
        dims[ndim++] = v;
    }
}

int64_t Shape::numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= dims[i];
    return n;
}

bool Shape::operator==(const Shape& o) const {
    if (ndim != o.ndim) return false;
    for (int i = 0; i < ndim; ++i)
        if (dims[i] != o.dims[i]) return false;
    return true;
}

std::string Shape::str() const {
    std::string s = "(";
    for (int i = 0; i < ndim; ++i) s += (i ? "," : "") + std::to_string(dims[i]);
    return s + ")";
}

Storage::Storage(size_t bytes) : bytes_(bytes) {
    data_ = static_cast<float*>(MemoryPool::instance().allocate(bytes, &capacity_));
}

Storage::~Storage() { MemoryPool::instance().release(data_, bytes_, capacity_); }

Tensor Tensor::empty(const Shape& shape) {
    Tensor t;
    t.shape_ = shape;
    t.storage_ = std::make_shared<Storage>(size_t(shape.numel()) * sizeof(float));
    return t;
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
    Tensor t = empty(shape);
    t.fill(value);
    return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
    XB_CHECK(shape.numel() == numel(), "reshape {} -> {}", shape_, shape);
    Tensor t = *this;
    t.shape_ = shape;
    return t;
}

Tensor Tensor::clone() const {
    Tensor t = empty(shape_);
    t.copy_from(*this);
    return t;
}

// Gradient buffers start as zeros, many of them activation-sized: filled by all threads.
void Tensor::fill(float value) {
    float* p = data();
    parallel_chunks(
        numel(), [&](int64_t begin, int64_t end) { std::fill(p + begin, p + end, value); },
        int64_t(1) << 16);
}

void Tensor::copy_from(const Tensor& src) {
    XB_CHECK(src.numel() == numel(), "copy_from {} -> {}", src.shape(), shape_);
    float* to = data();
    const float* from = src.data();
    parallel_chunks(
        numel(),
        [&](int64_t begin, int64_t end) {
            std::memcpy(to + begin, from + begin, size_t(end - begin) * sizeof(float));
        },
        int64_t(1) << 16);
}

}  // namespace xb
