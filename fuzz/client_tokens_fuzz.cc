// Fuzz target: the server's tokens file (--tokens, lines "CLIENT_ID TOKEN").
#include <cstdint>
#include <string_view>

#include "deploy/client_tokens.h"
#include "fuzz_seeds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tokens = tributary::ClientTokens::Parse(text, 64);
  if (tokens.ok()) {
    // Checking any id and token is safe, including ids past the federation.
    for (uint32_t client : {0u, 1u, 63u, 64u, 4000000000u}) {
      (void)tokens->Check(client, text.substr(0, 40));
      (void)tokens->Check(client, "");
    }
  }
  return 0;
}

std::vector<std::string> TributaryFuzzSeeds() {
  return {"0 token-zero-0123456789abcdef\n1 token-one-0123456789abcdef\n",
          "# comment\n\n63 a-token-of-twenty-chars-or-more\n", "5 short\n",
          "0 dup-0123456789abcdefgh\n0 dup-0123456789abcdefgh\n"};
}
