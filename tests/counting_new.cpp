// SPDX-License-Identifier: MIT
// The counting operator new of counting_new.hpp.
#include "counting_new.hpp"

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
std::atomic<long> g_allocations{0};

void* counted_alloc(std::size_t size, std::size_t align = 0) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = nullptr;
  if (align > alignof(std::max_align_t)) {
    std::size_t const rounded = (size + align - 1) / align * align;
#if defined(_WIN32)
    p = _aligned_malloc(rounded, align);  // Windows has no std::aligned_alloc
#else
    p = std::aligned_alloc(align, rounded);
#endif
  } else {
    p = std::malloc(size);
  }
  return p;
}

// Frees what counted_alloc(n, align) returned for align > alignof(max_align_t).
void aligned_free(void* p) noexcept {
#if defined(_WIN32)
  _aligned_free(p);
#else
  std::free(p);
#endif
}
}  // namespace

// The replacements pair malloc with free by design; g++ cannot see that.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
// clang-format off
void* operator new(std::size_t n) { if (void* p = counted_alloc(n)) return p; throw std::bad_alloc(); }
void* operator new[](std::size_t n) { if (void* p = counted_alloc(n)) return p; throw std::bad_alloc(); }
void* operator new(std::size_t n, std::nothrow_t const&) noexcept { return counted_alloc(n); }
void* operator new[](std::size_t n, std::nothrow_t const&) noexcept { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { if (void* p = counted_alloc(n, static_cast<std::size_t>(a))) return p; throw std::bad_alloc(); }
void* operator new[](std::size_t n, std::align_val_t a) { if (void* p = counted_alloc(n, static_cast<std::size_t>(a))) return p; throw std::bad_alloc(); }
void* operator new(std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept { return counted_alloc(n, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { aligned_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { aligned_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { aligned_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { aligned_free(p); }
void operator delete(void* p, std::nothrow_t const&) noexcept { std::free(p); }
void operator delete[](void* p, std::nothrow_t const&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, std::nothrow_t const&) noexcept { aligned_free(p); }
void operator delete[](void* p, std::align_val_t, std::nothrow_t const&) noexcept { aligned_free(p); }
// clang-format on

long ste_test::allocations() noexcept { return g_allocations.load(); }
