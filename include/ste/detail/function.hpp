// SPDX-License-Identifier: MIT
// ste/detail/function.hpp — a move-only, type-erased callable (std::move_only_function
// is C++23). Used for the builder's prelude/postlude/on_error, never on a hot path.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace ste::detail {

template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
 public:
  unique_function() noexcept = default;

  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, unique_function> &&
             std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  unique_function(F&& f)  // NOLINT(google-explicit-constructor): mirrors std::function
      : impl_(std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))) {}

  explicit operator bool() const noexcept { return impl_ != nullptr; }

  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }

 private:
  struct concept_ {
    virtual ~concept_() = default;
    virtual R call(Args... args) = 0;
  };
  template <class F>
  struct model final : concept_ {
    template <class G>
    explicit model(G&& g) : f(std::forward<G>(g)) {}
    R call(Args... args) override { return static_cast<R>(f(std::forward<Args>(args)...)); }
    F f;
  };
  std::unique_ptr<concept_> impl_;
};

}  // namespace ste::detail
