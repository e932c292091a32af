// A fuzz target without libFuzzer: runs a target's seeds and kept inputs, then (with --seconds)
// random mutations of them, deterministically from --seed. The default build runs every target
// this way for a few seconds as a smoke test (ctest); `make fuzz` runs the libFuzzer build.
//
//   NAME_replay [--seconds S] [--seed N] [--write-seeds DIR] [FILE_OR_DIR ...]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "fuzz_seeds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxInput = 1 << 16;

void Run(const std::string& input) {
  // A copy of exactly the input's size, so that AddressSanitizer sees any read past its end.
  std::vector<uint8_t> copy(input.begin(), input.end());
  LLVMFuzzerTestOneInput(copy.data(), copy.size());
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string Mutate(const std::vector<std::string>& inputs, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  std::string s = inputs[pick(inputs.size())];
  const int edits = 1 + static_cast<int>(pick(4));
  for (int e = 0; e < edits; ++e) {
    switch (pick(7)) {
      case 0:  // flip a bit
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1 << pick(8));
        break;
      case 1:  // an interesting byte
        if (!s.empty()) {
          static const char kBytes[] = {0, 1, 0x7f, static_cast<char>(0x80), -1};
          s[pick(s.size())] = kBytes[pick(sizeof(kBytes))];
        }
        break;
      case 2:  // insert a random byte
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(pick(s.size() + 1)),
                 static_cast<char>(rng()));
        break;
      case 3:  // erase a range
        if (!s.empty()) {
          const size_t at = pick(s.size());
          s.erase(at, 1 + pick(std::min<size_t>(16, s.size() - at)));
        }
        break;
      case 4:  // truncate
        s.resize(pick(s.size() + 1));
        break;
      case 5: {  // splice with another input
        const std::string& other = inputs[pick(inputs.size())];
        s = s.substr(0, pick(s.size() + 1)) + other.substr(pick(other.size() + 1));
        break;
      }
      case 6:  // overwrite 4 bytes with a random word
        if (s.size() >= 4) {
          const uint32_t word = static_cast<uint32_t>(rng());
          std::memcpy(s.data() + pick(s.size() - 3), &word, sizeof(word));
        }
        break;
    }
  }
  if (s.size() > kMaxInput) s.resize(kMaxInput);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.0;
  uint64_t seed = 1;
  std::string write_seeds;
  std::vector<std::string> inputs = TributaryFuzzSeeds();
  const size_t seeds = inputs.size();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--write-seeds" && i + 1 < argc) {
      write_seeds = argv[++i];
    } else if (fs::is_directory(arg)) {
      for (const auto& entry : fs::directory_iterator(arg)) {
        if (entry.is_regular_file()) inputs.push_back(ReadAll(entry.path()));
      }
    } else if (fs::is_regular_file(arg)) {
      inputs.push_back(ReadAll(arg));
    } else {
      std::fprintf(stderr, "%s: no such file or folder: %s\n", argv[0], arg.c_str());
      return 2;
    }
  }
  if (!write_seeds.empty()) {
    fs::create_directories(write_seeds);
    for (size_t i = 0; i < seeds; ++i) {
      std::ofstream(fs::path(write_seeds) / ("seed-" + std::to_string(i)), std::ios::binary)
          << inputs[i];
    }
    std::printf("%zu seeds written to %s\n", seeds, write_seeds.c_str());
    return 0;
  }
  for (const std::string& input : inputs) Run(input);
  std::mt19937_64 rng(seed);
  size_t mutated = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!inputs.empty() && std::chrono::steady_clock::now() < until) {
    for (int i = 0; i < 64; ++i, ++mutated) Run(Mutate(inputs, rng));
  }
  std::printf("%s: %zu inputs (%zu seeds), %zu mutations, no crash\n", argv[0], inputs.size(),
              seeds, mutated);
  return 0;
}
