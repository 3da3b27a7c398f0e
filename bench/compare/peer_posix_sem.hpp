// SPDX-License-Identifier: MIT
// peer_posix_sem.hpp — the kernel's plain wake-up: the producer calls sem_post, the
// consumer loops on sem_wait and runs the probe after each. glibc's sem_post makes a
// futex wake system call only when a waiter sleeps, and it never blocks: what a
// real-time producer may call. The floor of "wake a sleeping thread" on this OS.
#pragma once

#include <semaphore.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "handoff_base.hpp"

namespace bench {

class posix_sem_core {
 public:
  static constexpr char const* name = "posix sem";

  explicit posix_sem_core(wake_probe& probe) : probe_(probe) {
    if (sem_init(&sem_, 0, 0) != 0) {
      std::perror("ste_compare: FATAL: sem_init");
      std::abort();
    }
  }
  posix_sem_core(posix_sem_core const&) = delete;
  posix_sem_core& operator=(posix_sem_core const&) = delete;
  ~posix_sem_core() { sem_destroy(&sem_); }

  void trigger() noexcept { sem_post(&sem_); }

  void serve() noexcept {
    for (;;) {
      while (sem_wait(&sem_) != 0 && errno == EINTR) {
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      probe_.on_run();
    }
  }

  void request_stop() noexcept {
    stopping_.store(true, std::memory_order_release);
    sem_post(&sem_);
  }

 private:
  wake_probe& probe_;
  sem_t sem_;
  std::atomic<bool> stopping_{false};
};

using posix_sem_wake = wake_peer<posix_sem_core>;

}  // namespace bench
