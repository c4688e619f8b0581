// dist/bytes.hpp - values to bytes and back, for messages between ranks of
// one job (the same kreg binary on every rank, so the layout is the
// in-memory one).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "dist/communicator.hpp"

namespace kreg::dist {

class ByteWriter {
 public:
  template <class T>
  ByteWriter& put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
    return *this;
  }
  // The count, then the values.
  template <class T>
  ByteWriter& put_span(std::span<const T> values) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<std::uint64_t>(values.size());
    const auto* p = reinterpret_cast<const std::byte*>(values.data());
    bytes_.insert(bytes_.end(), p, p + values.size_bytes());
    return *this;
  }
  // The values alone (the reader's get_vector wants a count before them).
  template <class T>
  ByteWriter& put_raw(std::span<const T> values) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(values.data());
    bytes_.insert(bytes_.end(), p, p + values.size_bytes());
    return *this;
  }
  Bytes take() { return std::move(bytes_); }

 private:
  Bytes bytes_;
};

class ByteReader {
 public:
  explicit ByteReader(const Bytes& bytes) : bytes_(bytes) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  bool done() const { return at_ == bytes_.size(); }
  template <class T>
  std::vector<T> get_vector() {
    const auto n = static_cast<std::size_t>(get<std::uint64_t>());
    if (n > (bytes_.size() - at_) / sizeof(T)) short_message();
    std::vector<T> values(n);
    if (n > 0) std::memcpy(values.data(), take(n * sizeof(T)), n * sizeof(T));
    return values;
  }

 private:
  const std::byte* take(std::size_t n) {
    if (n > bytes_.size() - at_) short_message();
    const std::byte* p = bytes_.data() + at_;
    at_ += n;
    return p;
  }
  [[noreturn]] static void short_message() {
    throw std::runtime_error("a message between kreg's ranks ended early (ranks out of step)");
  }
  const Bytes& bytes_;
  std::size_t at_ = 0;
};

}  // namespace kreg::dist
