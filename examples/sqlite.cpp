// SPDX-License-Identifier: MIT
// SQLite on a ste thread: one connection opened with SQLITE_OPEN_NOMUTEX, owned by one
// ste thread, used by eight threads at once through `submit`.
//
//   ./build/release/examples/ste_sqlite                 # an in-memory database
//   ./build/release/examples/ste_sqlite /tmp/demo.db    # or a file (created if needed)
//
// Why ste fits. SQLITE_OPEN_NOMUTEX ("multi-thread" mode) turns off SQLite's own
// per-connection mutex: faster, but then the connection and its prepared statements must
// never be used by two threads at once. The usual answers are a mutex around every use,
// or a connection per thread. With ste, the connection simply lives on one thread:
//   - ste::bound<database> opens it on the ste thread (make_bound), checks every access
//     happens there (elsewhere: ste::wrong_thread), and closes it there;
//   - the eight worker threads hand their inserts and queries over with `submit`. Tasks
//     run one at a time, so each submitted lambda is a critical section on the
//     connection: a multi-statement transaction inside one lambda can never interleave
//     with another thread's;
//   - submit blocks until the task ran, so the lambda may borrow the caller's locals
//     (the rows to insert, the place for the answer) by reference: no copies, no heap.
//
// The program checks every row and that the connection never left its thread (counted
// independently of ste, with std::this_thread::get_id), and exits non-zero on failure
// (it is run by CTest under the label `example`).
#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <ste/ste.hpp>

namespace {

constexpr int kWriters = 8;             // threads inserting and querying at once
constexpr int kBatches = 25;            // transactions per writer
constexpr int kRowsPerBatch = 8;        // rows per transaction
constexpr int kRowsPerWriter = kBatches * kRowsPerBatch;

int g_failures = 0;

// Like assert, but also in release builds, and it keeps going to report every failure.
void check(bool ok, char const* what) {
  std::printf("  [%s] %s\n", ok ? " ok " : "FAIL", what);
  if (!ok) ++g_failures;
}

struct sqlite_error : std::runtime_error {
  explicit sqlite_error(std::string const& what) : std::runtime_error(what) {}
};

struct reading {
  int writer;
  int seq;
  double value;
};

// What the connection saw of its own life, written on the ste thread only and read by
// main after join(), which orders the accesses.
struct usage_report {
  long uses = 0;             // calls of database members
  long uses_off_owner = 0;   // ...not on the thread that opened it (must stay 0)
  bool closed_on_owner = false;
};

// The thread-affine resource: a connection plus its prepared statements (statements
// belong to the connection and share its threading rules). Opened in the constructor,
// closed in the destructor: with make_bound, both run on the ste thread.
class database {
 public:
  database(char const* path, usage_report& report)
      : owner_(std::this_thread::get_id()), report_(report) {
    int const flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db_, flags, nullptr) != SQLITE_OK) {
      std::string const msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw sqlite_error(std::string("sqlite3_open_v2: ") + msg);
    }
    try {
      exec("DROP TABLE IF EXISTS readings");
      exec("CREATE TABLE readings (writer INTEGER NOT NULL, seq INTEGER NOT NULL, "
           "value REAL NOT NULL, PRIMARY KEY (writer, seq))");
      insert_ = prepare("INSERT INTO readings (writer, seq, value) VALUES (?1, ?2, ?3)");
      count_ = prepare("SELECT COUNT(*) FROM readings WHERE writer = ?1");
    } catch (...) {
      close();
      throw;
    }
  }
  database(database const&) = delete;
  database& operator=(database const&) = delete;
  ~database() {
    report_.closed_on_owner = std::this_thread::get_id() == owner_;
    close();
  }

  // Inserts the rows in one transaction (all or nothing).
  void insert(std::span<reading const> rows) {
    note_use();
    exec("BEGIN");
    try {
      for (reading const& r : rows) {
        sqlite3_bind_int(insert_, 1, r.writer);
        sqlite3_bind_int(insert_, 2, r.seq);
        sqlite3_bind_double(insert_, 3, r.value);
        int const rc = sqlite3_step(insert_);
        sqlite3_reset(insert_);
        if (rc != SQLITE_DONE) fail("INSERT");
      }
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  // How many rows `writer` has inserted so far.
  int count_for(int writer) {
    note_use();
    sqlite3_bind_int(count_, 1, writer);
    int const rc = sqlite3_step(count_);
    int const n = rc == SQLITE_ROW ? sqlite3_column_int(count_, 0) : -1;
    sqlite3_reset(count_);
    if (rc != SQLITE_ROW) fail("SELECT COUNT");
    return n;
  }

  // Per writer: row count, sum of seq and sum of value, to check every row at the end.
  struct summary {
    int rows = 0;
    std::int64_t seq_sum = 0;
    double value_sum = 0;
  };
  std::array<summary, kWriters> summarise() {
    note_use();
    std::array<summary, kWriters> out{};
    sqlite3_stmt* s = prepare(
        "SELECT writer, COUNT(*), SUM(seq), SUM(value) FROM readings GROUP BY writer");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      int const w = sqlite3_column_int(s, 0);
      if (w < 0 || w >= kWriters) continue;  // cannot happen; checked by the row count
      auto& row = out[static_cast<std::size_t>(w)];
      row.rows = sqlite3_column_int(s, 1);
      row.seq_sum = sqlite3_column_int64(s, 2);
      row.value_sum = sqlite3_column_double(s, 3);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) fail("SELECT ... GROUP BY");
    return out;
  }

 private:
  void note_use() {
    ++report_.uses;
    if (std::this_thread::get_id() != owner_) ++report_.uses_off_owner;
  }
  [[noreturn]] void fail(char const* what) {
    throw sqlite_error(std::string(what) + ": " + sqlite3_errmsg(db_));
  }
  void exec(char const* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
  }
  sqlite3_stmt* prepare(char const* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) fail(sql);
    return s;
  }
  void close() noexcept {
    sqlite3_finalize(insert_);
    sqlite3_finalize(count_);
    sqlite3_close(db_);
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* count_ = nullptr;
  std::thread::id owner_;  // the thread that opened the connection
  usage_report& report_;
};

double value_of(int writer, int seq) { return writer * 1000.0 + seq * 0.5; }

}  // namespace

int main(int argc, char** argv) {
  char const* const path = argc > 1 ? argv[1] : ":memory:";
  std::printf("ste SQLite example: %d threads share one NOMUTEX connection to \"%s\"\n",
              kWriters, path);
  std::printf("  SQLite %s, compiled thread-safe mode %d\n", sqlite3_libversion(),
              sqlite3_threadsafe());

  // 1. The database thread, and the connection opened on it.
  usage_report report;
  ste::thread sql = ste::builder().name("sqlite").build();
  ste::bound<database> db = sql.make_bound<database>(path, report);

  // 2. Eight threads insert their rows in transactions of kRowsPerBatch, and after each
  //    transaction ask how many of their rows are in. The batch lives on the writer's
  //    stack; the submitted lambdas borrow it and `db` by reference.
  std::array<bool, kWriters> read_own_writes{};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      bool consistent = true;
      std::array<reading, kRowsPerBatch> batch{};
      for (int b = 0; b < kBatches; ++b) {
        for (int i = 0; i < kRowsPerBatch; ++i) {
          int const seq = b * kRowsPerBatch + i;
          batch[static_cast<std::size_t>(i)] = {w, seq, value_of(w, seq)};
        }
        sql.submit([&] { db->insert(batch); });
        int const seen = sql.submit([&] { return db->count_for(w); });
        consistent = consistent && seen == (b + 1) * kRowsPerBatch;
      }
      read_own_writes[static_cast<std::size_t>(w)] = consistent;
    });
  }
  for (auto& t : writers) t.join();

  bool all_consistent = true;
  for (bool ok : read_own_writes) all_consistent = all_consistent && ok;
  check(all_consistent, "each writer saw exactly its committed rows after every batch");

  // 3. Every row is there: per writer, kRowsPerWriter rows whose seq are 0..n-1 (the
  //    primary key forbids duplicates, so count + sum pin the set) with their values.
  auto const summary = sql.submit([&] { return db->summarise(); });
  bool rows_ok = true;
  for (int w = 0; w < kWriters; ++w) {
    auto const& s = summary[static_cast<std::size_t>(w)];
    std::int64_t const seq_sum = std::int64_t{kRowsPerWriter} * (kRowsPerWriter - 1) / 2;
    double value_sum = 0;
    for (int seq = 0; seq < kRowsPerWriter; ++seq) value_sum += value_of(w, seq);
    rows_ok = rows_ok && s.rows == kRowsPerWriter && s.seq_sum == seq_sum &&
              s.value_sum == value_sum;  // exact: every value is a multiple of 0.5
  }
  std::printf("  %d rows from %d writers\n", kWriters * kRowsPerWriter, kWriters);
  check(rows_ok, "every row of every writer is in the table, once, with its value");

  // 4. The connection cannot be used from here: bound refuses off its thread.
  bool refused = false;
  try {
    (void)db->count_for(0);
  } catch (ste::wrong_thread const& e) {
    refused = true;
    std::printf("  on the main thread, db-> threw ste::wrong_thread:\n    %s\n", e.what());
  }
  check(refused, "using the connection from the main thread throws ste::wrong_thread");

  // 5. join() drains the queue, then destroys what bound handles still hold — our
  //    connection — on the thread, then exits. The handle is empty afterwards.
  sql.join();
  check(!db, "join() closed the connection, and the handle is empty");
  check(report.closed_on_owner, "the connection was closed on the thread that opened it");
  long const expected_uses = kWriters * kBatches * 2 + 1;  // inserts + counts + summary
  std::printf("  %ld uses of the connection, %ld off its thread\n", report.uses,
              report.uses_off_owner);
  check(report.uses == expected_uses && report.uses_off_owner == 0,
        "the connection never left its thread");

  std::printf("%s\n", g_failures == 0 ? "OK" : "FAILED");
  return g_failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
