// Fuzz target: the experiment config loader (TOML text, then every section's validation), as
// `tributary simulate|server` and a client's registration reply read it.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "cli/config_loader.h"
#include "fuzz_seeds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The part before the first NUL, if any, is an override ("key=value"), as --set passes one.
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  std::vector<std::string> overrides;
  std::string_view text = input;
  if (nul != std::string_view::npos) {
    overrides.emplace_back(input.substr(0, nul));
    text = input.substr(nul + 1);
  }
#ifdef TRIBUTARY_FUZZ_WITHOUT_TORCH
  // The libFuzzer build has no libtorch code (fuzz/CMakeLists.txt), and validating a config
  // constructs its strategy: lora_exact's needs libtorch. Its inputs are left to the replay
  // build (fuzz_smoke_config).
  if (input.find("lora_exact") != std::string_view::npos) return 0;
#endif
  auto loaded = tributary::ParseExperimentConfig(text, "fuzz.toml", overrides);
  if (loaded.ok()) {
    // The resolved text of a valid config is itself a valid config.
    auto again = tributary::ParseExperimentConfig(loaded->resolved_toml, "resolved.toml", {});
    if (!again.ok()) __builtin_trap();
  }
  return 0;
}

// The repository's own configs, one of them with an override.
std::vector<std::string> TributaryFuzzSeeds() {
  std::vector<std::string> seeds;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(TRIBUTARY_SOURCE_DIR "/configs")) {
    if (entry.path().extension() != ".toml") continue;
    std::ifstream in(entry.path());
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (!seeds.empty()) seeds.push_back(std::string("train.lr=0.5", 12) + '\0' + seeds[0]);
  return seeds;
}
