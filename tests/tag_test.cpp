// SPDX-License-Identifier: MIT
// ste::tag: identity, uniqueness across thread lifetimes, checks and their messages.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_set>

#include "ste/ste.hpp"
#include "test_support.hpp"

namespace {

std::string to_string(ste::tag t) {
  std::ostringstream out;
  out << t;
  return out.str();
}

static_assert(std::is_trivially_copyable_v<ste::tag>);
static_assert(sizeof(ste::tag) == sizeof(std::uint64_t));

TEST(Tag, DefaultIsTheNullTag) {
  ste::tag null;
  EXPECT_EQ(null, ste::tag{});
  EXPECT_FALSE(null.is_on_thread());
  EXPECT_EQ(to_string(null), "ste::tag(null)");
  auto thread = ste::spawn();
  EXPECT_FALSE(thread.submit([&] { return null.is_on_thread(); }));
  EXPECT_THROW(null.ensure_on_thread(), ste::wrong_thread);
}

TEST(Tag, CurrentThreadOffEveryThreadThrows) {
  EXPECT_THROW(ste::tag::current_thread(), ste::wrong_thread);
  try {
    ste::tag::current_thread();
  } catch (ste::wrong_thread const& e) {
    EXPECT_NE(std::string(e.what()).find("not a ste thread"), std::string::npos) << e.what();
  }
}

TEST(Tag, CurrentThreadOnTheThreadIsTheThreadsTag) {
  auto thread = ste::spawn();
  ste::tag const t = thread.submit([] { return ste::tag::current_thread(); });
  EXPECT_EQ(t, thread.tag());
  EXPECT_NE(t, ste::tag{});
  EXPECT_FALSE(t.is_on_thread());
  EXPECT_TRUE(thread.submit([&] { return t.is_on_thread(); }));
}

TEST(Tag, EmptyHandleHasTheNullTag) {
  ste::thread empty;
  EXPECT_EQ(empty.tag(), ste::tag{});
}

TEST(Tag, IsOnThreadIsFalseOnAnotherSteThread) {
  auto a = ste::spawn();
  auto b = ste::spawn();
  ste::tag const ta = a.tag();
  EXPECT_NE(ta, b.tag());
  EXPECT_FALSE(b.submit([&] { return ta.is_on_thread(); }));
}

// The Rust README's example: a value remembers its thread and checks every use.
struct foo {
  ste::tag tag = ste::tag::current_thread();
  int say_hello() const {
    tag.ensure_on_thread();
    return 1;
  }
};

TEST(Tag, ReadmeExampleOkOnTheThreadThrowsElsewhere) {
  auto thread = ste::spawn();
  foo f = thread.submit([] { return foo{}; });
  EXPECT_EQ(thread.submit([&] { return f.say_hello(); }), 1);
  EXPECT_THROW(f.say_hello(), ste::wrong_thread);
  thread.join();
}

TEST(Tag, WrongThreadNamesBothTagsAsOperatorWritesThem) {
  auto a = ste::spawn();
  auto b = ste::spawn();
  ste::tag const ta = a.tag();
  std::string message = b.submit([&] {
    try {
      ta.ensure_on_thread();
    } catch (ste::wrong_thread const& e) {
      return std::string(e.what());
    }
    return std::string();
  });
  EXPECT_NE(message.find(to_string(ta)), std::string::npos) << message;
  EXPECT_NE(message.find(to_string(b.tag())), std::string::npos) << message;

  // Off every ste thread the actual tag is the null tag.
  try {
    ta.ensure_on_thread();
    FAIL();
  } catch (ste::wrong_thread const& e) {
    std::string const m = e.what();
    EXPECT_NE(m.find(to_string(ta)), std::string::npos) << m;
    EXPECT_NE(m.find(to_string(ste::tag{})), std::string::npos) << m;
  }
}

TEST(Tag, WrongThreadIsALogicError) {
  static_assert(std::is_base_of_v<std::logic_error, ste::wrong_thread>);
  static_assert(std::is_base_of_v<std::logic_error, ste::deadlock_error>);
  static_assert(std::is_base_of_v<std::runtime_error, ste::stopped_error>);
  static_assert(std::is_base_of_v<std::runtime_error, ste::timeout_error>);
}

TEST(Tag, HashAndEquality) {
  auto a = ste::spawn();
  auto b = ste::spawn();
  std::unordered_set<ste::tag> set{a.tag(), b.tag(), a.tag(), ste::tag{}};
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(std::hash<ste::tag>{}(a.tag()), std::hash<ste::tag>{}(a.tag()));
}

// The Rust original derived tags from an address, which a later thread can re-use.
// Tags here come from a 64-bit counter: unique across every thread lifetime. (Also
// meaningful under ASan? Its quarantine delays address re-use, so this test matters most
// in the plain build, where an address-based tag would collide quickly.)
TEST(Tag, NeverReusedAcrossAThousandThreadLifetimes) {
  std::unordered_set<ste::tag> seen;
  std::size_t const lifetimes = ste_test::scaled(1000);
  for (std::size_t i = 0; i < lifetimes; ++i) {
    auto thread = ste::spawn();
    ste::tag const t = thread.tag();
    EXPECT_EQ(thread.submit([] { return ste::tag::current_thread(); }), t);
    thread.join();
    EXPECT_TRUE(seen.insert(t).second) << "tag re-used: " << t;
  }
  EXPECT_EQ(seen.size(), lifetimes);
}

TEST(Tag, UniqueAcrossConcurrentSpawners) {
  std::vector<std::vector<ste::tag>> per(4);
  std::vector<std::thread> spawners;
  for (std::size_t s = 0; s < per.size(); ++s) {
    spawners.emplace_back([&per, s] {
      for (int i = 0; i < 100; ++i) per[s].push_back(ste::spawn().tag());
    });
  }
  for (auto& t : spawners) t.join();
  std::unordered_set<ste::tag> all;
  for (auto const& v : per)
    for (ste::tag t : v) EXPECT_TRUE(all.insert(t).second);
  EXPECT_EQ(all.size(), 400u);
}

}  // namespace
