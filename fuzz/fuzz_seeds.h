// Every fuzz target defines, next to LLVMFuzzerTestOneInput, the inputs its corpus starts from:
// real payloads, messages and files made by this build's own encoders and writers, so that the
// fuzzer begins from what the parsers actually receive.
#ifndef TRIBUTARY_FUZZ_FUZZ_SEEDS_H_
#define TRIBUTARY_FUZZ_FUZZ_SEEDS_H_

#include <string>
#include <vector>

std::vector<std::string> TributaryFuzzSeeds();

#endif  // TRIBUTARY_FUZZ_FUZZ_SEEDS_H_
