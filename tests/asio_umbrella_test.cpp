// SPDX-License-Identifier: MIT
// <ste/ste.hpp> must not include Boost: <ste/asio.hpp> is optional, and Boost with it.
// Built everywhere, with or without Boost installed.
#include <gtest/gtest.h>

#include "ste/ste.hpp"

#if defined(BOOST_ASIO_VERSION) || defined(BOOST_VERSION) || defined(BOOST_CONFIG_HPP)
#error "ste/ste.hpp includes Boost; it must not (ste/asio.hpp is the optional Asio bridge)"
#endif

namespace {

TEST(AsioUmbrella, SteHppDoesNotIncludeBoost) {
  // The check is the #if above, at compile time; this test records that it compiled.
  ste::thread worker = ste::spawn();
  EXPECT_EQ(worker.submit([] { return 1; }), 1);
}

}  // namespace
