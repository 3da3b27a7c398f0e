// SPDX-License-Identifier: MIT
// COM on a ste thread (Windows): a single-threaded apartment (STA) that other threads
// hand work to, the way the Rust original drives WASAPI.
//
//   build/windows/examples/ste_com.exe          # under Wine: cmake/wine-run.sh ste_com.exe
//
// Why ste fits. A COM object created in a single-threaded apartment may only be called
// on that apartment's thread; another thread must marshal the interface (a proxy, the
// Global Interface Table) and pay a cross-apartment call each time. With ste, the
// apartment *is* a ste thread and other threads send it work instead:
//   - builder::prelude runs CoInitializeEx(COINIT_APARTMENTTHREADED) on the new thread
//     before any task, and build() rethrows if it failed;
//   - the COM object (here an IStream from CreateStreamOnHGlobal) is created, used and
//     released only on that thread, held in a ste::bound<...> that checks every access;
//   - builder::postlude runs CoUninitialize() as the thread's last act — after join()
//     released the COM objects still held by bound handles, on the thread, which is the
//     order COM requires (no Release after CoUninitialize).
//
// The program checks each of these and exits non-zero on failure (it is run by CTest,
// under Wine here, with the label `example`).
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <objbase.h>
#include <windows.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <ste/ste.hpp>

namespace {

constexpr int kClients = 4;          // threads appending to the stream at once
constexpr int kLinesPerClient = 25;

int g_failures = 0;

// Like assert, but also in release builds, and it keeps going to report every failure.
void check(bool ok, char const* what) {
  std::printf("  [%s] %s\n", ok ? " ok " : "FAIL", what);
  if (!ok) ++g_failures;
}

struct com_error : std::runtime_error {
  com_error(char const* call, HRESULT hr)
      : std::runtime_error(std::string(call) + " failed with HRESULT " + hex(hr)), code(hr) {}
  static std::string hex(HRESULT hr) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08lX", static_cast<unsigned long>(hr));
    return buf;
  }
  HRESULT code;
};

void check_hr(HRESULT hr, char const* call) {
  if (FAILED(hr)) throw com_error(call, hr);
}

// The order of events on the STA thread, to check that COM objects are released before
// CoUninitialize. Each step stores the next sequence number.
struct timeline {
  std::atomic<int> next{1};
  std::atomic<int> initialised{0}, released{0}, uninitialised{0};
  std::atomic<bool> released_inside_apartment{false};
  std::atomic<bool> released_on_owner{false};
  int stamp() { return next.fetch_add(1); }
};

// The thread-affine object: a growable in-memory stream, created inside the STA. The
// class owns one reference and releases it in its destructor (plain RAII; with
// make_bound, constructor and destructor both run on the ste thread).
class note_stream {
 public:
  explicit note_stream(timeline& events) : owner_(ste::tag::current_thread()), events_(events) {
    check_hr(CreateStreamOnHGlobal(nullptr, /*fDeleteOnRelease=*/TRUE, &stream_),
             "CreateStreamOnHGlobal");
  }
  note_stream(note_stream const&) = delete;
  note_stream& operator=(note_stream const&) = delete;
  ~note_stream() {
    // Still inside the apartment? CoGetApartmentType fails once COM is uninitialised.
    APTTYPE type{};
    APTTYPEQUALIFIER qualifier{};
    events_.released_inside_apartment = SUCCEEDED(CoGetApartmentType(&type, &qualifier));
    events_.released_on_owner = owner_.is_on_thread();
    stream_->Release();
    events_.released = events_.stamp();
  }

  void append(std::string_view text) {
    ULONG written = 0;
    check_hr(stream_->Write(text.data(), static_cast<ULONG>(text.size()), &written),
             "IStream::Write");
    if (written != text.size()) throw std::runtime_error("IStream::Write: short write");
  }

  std::string read_all() {
    STATSTG stat{};
    check_hr(stream_->Stat(&stat, STATFLAG_NONAME), "IStream::Stat");
    std::string text(static_cast<std::size_t>(stat.cbSize.QuadPart), '\0');
    LARGE_INTEGER zero{};
    check_hr(stream_->Seek(zero, STREAM_SEEK_SET, nullptr), "IStream::Seek");
    ULONG read = 0;
    check_hr(stream_->Read(text.data(), static_cast<ULONG>(text.size()), &read),
             "IStream::Read");
    check_hr(stream_->Seek(zero, STREAM_SEEK_END, nullptr), "IStream::Seek");
    text.resize(read);
    return text;
  }

 private:
  IStream* stream_ = nullptr;
  ste::tag owner_;
  timeline& events_;
};

// Which apartment the calling thread is in, as text (or why it is in none).
std::string apartment_of_caller() {
  APTTYPE type{};
  APTTYPEQUALIFIER qualifier{};
  HRESULT const hr = CoGetApartmentType(&type, &qualifier);
  if (FAILED(hr)) return "none (" + com_error::hex(hr) + ")";
  switch (type) {
    case APTTYPE_STA: return "STA";
    case APTTYPE_MAINSTA: return "main STA";
    case APTTYPE_MTA: return "MTA";
    case APTTYPE_NA: return "neutral";
    default: return "other";
  }
}

}  // namespace

int main() {
  std::printf("ste COM example: an IStream living in a single-threaded apartment\n");

  // 1. The apartment thread: COM is initialised by the prelude, before any task runs,
  //    and uninitialised by the postlude, after the last task and after join() released
  //    the values of bound handles.
  timeline events;
  ste::thread sta = ste::builder()
                        .name("com-sta")
                        .prelude([&] {
                          check_hr(CoInitializeEx(nullptr, COINIT_APARTMENTTHREADED),
                                   "CoInitializeEx");
                          events.initialised = events.stamp();
                        })
                        .postlude([&] {
                          CoUninitialize();
                          events.uninitialised = events.stamp();
                        })
                        .build();

  std::string const apartment = sta.submit([] { return apartment_of_caller(); });
  std::printf("  the ste thread is in apartment: %s\n", apartment.c_str());
  std::printf("  (the main thread, which never initialised COM: %s)\n",
              apartment_of_caller().c_str());
  check(apartment == "STA" || apartment == "main STA",
        "the prelude put the ste thread in a single-threaded apartment");

  // 2. Create the COM object inside the apartment.
  ste::bound<note_stream> notes = sta.make_bound<note_stream>(events);

  // 3. Several threads use it, each through submit. They never touch the IStream
  //    themselves and need no marshalling: the calls run on the apartment's thread.
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kLinesPerClient; ++i) {
        std::string const line =
            "client " + std::to_string(c) + " line " + std::to_string(i) + "\n";
        sta.submit([&] { notes->append(line); });  // borrows `line`: no copy
      }
    });
  }
  for (auto& t : clients) t.join();

  std::string const text = sta.submit([&] { return notes->read_all(); });
  bool all_there = true;
  int lines = 0;
  for (char ch : text) lines += ch == '\n';
  for (int c = 0; c < kClients; ++c)
    for (int i = 0; i < kLinesPerClient; ++i)
      all_there = all_there && text.find("client " + std::to_string(c) + " line " +
                                         std::to_string(i) + "\n") != std::string::npos;
  std::printf("  the stream holds %d lines (%zu bytes)\n", lines, text.size());
  check(lines == kClients * kLinesPerClient && all_there,
        "every line written through submit is in the stream");

  // 4. Off its thread the object is out of reach.
  bool refused = false;
  try {
    notes->append("from main\n");
  } catch (ste::wrong_thread const& e) {
    refused = true;
    std::printf("  on the main thread, notes-> threw ste::wrong_thread:\n    %s\n", e.what());
  }
  check(refused, "using the COM object from the main thread throws ste::wrong_thread");

  // 5. join(): drains, releases the stream on the thread (it is still held by `notes`),
  //    then runs the postlude (CoUninitialize) and joins.
  sta.join();
  check(!notes, "join() released the COM object held by the bound handle");
  check(events.released_on_owner, "the COM object was released on the apartment's thread");
  check(events.released_inside_apartment, "...while the apartment was still initialised");
  check(events.initialised < events.released && events.released < events.uninitialised,
        "order: CoInitializeEx, then Release, then CoUninitialize");

  std::printf("%s\n", g_failures == 0 ? "OK" : "FAILED");
  return g_failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
