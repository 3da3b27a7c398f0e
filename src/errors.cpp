#include "ste/errors.hpp"

#include <sstream>

#include "ste/tag.hpp"

namespace ste {

namespace {
std::string wrong_thread_message(tag expected, tag actual) {
  std::ostringstream out;
  out << "ste::wrong_thread: this value or operation belongs to " << expected
      << ", but the caller runs on " << actual
      << "; hand the work to its thread (thread.submit) instead of touching it here";
  return out.str();
}
}  // namespace

stopped_error::stopped_error(std::string const& what_arg) : std::runtime_error(what_arg) {}
timeout_error::timeout_error(std::string const& what_arg) : std::runtime_error(what_arg) {}
wrong_thread::wrong_thread(std::string const& what_arg) : std::logic_error(what_arg) {}
wrong_thread::wrong_thread(tag expected, tag actual)
    : std::logic_error(wrong_thread_message(expected, actual)) {}
deadlock_error::deadlock_error(std::string const& what_arg) : std::logic_error(what_arg) {}

}  // namespace ste
