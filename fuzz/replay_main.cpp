// SPDX-License-Identifier: MIT
// Replay mode of the fuzz harness: a plain main() that feeds every file of the given
// files or directories (default: the committed corpus) to LLVMFuzzerTestOneInput, so the
// corpus runs under ThreadSanitizer (libFuzzer + TSan reports false races on libFuzzer's
// own counters) and as an ordinary CTest test. STE_FUZZ_REPLAY_ROUNDS (default 3) runs
// the whole corpus that many times: the interleavings differ from round to round.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size);

namespace {
std::vector<std::filesystem::path> inputs(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  std::vector<std::filesystem::path> roots;
  for (int i = 1; i < argc; ++i) roots.emplace_back(argv[i]);
#ifdef STE_FUZZ_CORPUS_DIR
  if (roots.empty()) roots.emplace_back(STE_FUZZ_CORPUS_DIR);
#endif
  for (auto const& root : roots) {
    if (std::filesystem::is_directory(root)) {
      for (auto const& e : std::filesystem::directory_iterator(root))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.push_back(root);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}
}  // namespace

int main(int argc, char** argv) {
  auto const files = inputs(argc, argv);
  if (files.empty()) {
    std::fprintf(stderr, "ste_fuzz_replay: no input files (pass files or directories)\n");
    return 1;
  }
  int rounds = 3;
  if (char const* r = std::getenv("STE_FUZZ_REPLAY_ROUNDS"); r != nullptr && std::atoi(r) > 0)
    rounds = std::atoi(r);
  std::size_t runs = 0;
  for (int round = 0; round < rounds; ++round) {
    for (auto const& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "ste_fuzz_replay: cannot read %s\n", f.string().c_str());
        return 1;
      }
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      ++runs;
    }
  }
  std::printf("ste_fuzz_replay: %zu inputs x %d rounds = %zu runs, all passed the oracle\n",
              files.size(), rounds, runs);
  return 0;
}
