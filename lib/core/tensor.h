// Tensor: float32, contiguous, row-major, up to 5 dims, storage from the tracked memory pool.
// Copies share storage (like a shared_ptr); reshape is a view; clone() copies the data.
#pragma once
#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "core/check.h"

namespace xb {

struct Shape {
    static constexpr int kMaxDims = 5;
    std::array<int64_t, kMaxDims> dims{};
    int ndim = 0;

    Shape() = default;
    Shape(std::initializer_list<int64_t> d);
    int64_t operator[](int i) const { return dims[i < 0 ? ndim + i : i]; }
    int64_t numel() const;
    bool operator==(const Shape& o) const;
    bool operator!=(const Shape& o) const { return !(*this == o); }
    std::string str() const;
};

class Storage {
  public:
    explicit Storage(size_t bytes);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
    float* data() const { return data_; }
    size_t bytes() const { return bytes_; }

  private:
    float* data_ = nullptr;
    size_t bytes_ = 0;
    size_t capacity_ = 0;
};

class Tensor {
  public:
    Tensor() = default;
    static Tensor empty(const Shape& shape);  // uninitialised
    static Tensor zeros(const Shape& shape);
    static Tensor full(const Shape& shape, float value);

    bool defined() const { return storage_ != nullptr; }
    float* data() const { return storage_->data(); }
    const Shape& shape() const { return shape_; }
    int64_t dim(int i) const { return shape_[i]; }
    int ndim() const { return shape_.ndim; }
    int64_t numel() const { return shape_.numel(); }
    size_t bytes() const { return size_t(numel()) * sizeof(float); }

    // A view with another shape of the same number of elements.
    Tensor reshape(const Shape& shape) const;
    Tensor clone() const;
    void fill(float value);
    void zero() { fill(0.0f); }
    void copy_from(const Tensor& src);

  private:
    std::shared_ptr<Storage> storage_;
    Shape shape_;
};

}  // namespace xb

template <>
struct fmt::formatter<xb::Shape> : fmt::formatter<std::string> {
    template <typename Ctx>
    auto format(const xb::Shape& s, Ctx& ctx) const {
        return fmt::formatter<std::string>::format(s.str(), ctx);
    }
};
