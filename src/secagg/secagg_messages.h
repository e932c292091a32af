// The wire formats of secure aggregation's messages, the same bytes whether a simulated round
// hands them over in memory or a deployed one sends them over gRPC, so the protocol's traffic is
// counted exactly once and the same way in both. Little-endian; lists carry a varint count.
// Every parser checks lengths against the bytes it was given (a count cannot make it reserve
// more than the message holds), checks the sender's number against the one the channel
// authenticated, and refuses trailing bytes: a malformed message is an error, never a crash.
#ifndef TRIBUTARY_SECAGG_SECAGG_MESSAGES_H_
#define TRIBUTARY_SECAGG_SECAGG_MESSAGES_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "secagg/secagg_protocol.h"

namespace tributary {

using Bytes = std::vector<uint8_t>;

// Client -> server. `from`: the sender's number in the round as the channel knows it; a message
// that claims another is refused.
Bytes SerializeKeys(const AdvertisedKeys& keys);
absl::StatusOr<AdvertisedKeys> ParseKeys(std::span<const uint8_t> bytes, uint32_t from);

Bytes SerializeShares(std::span<const EncryptedShare> shares);
absl::StatusOr<std::vector<EncryptedShare>> ParseShares(std::span<const uint8_t> bytes,
                                                        uint32_t from);

Bytes SerializeMaskedInput(const MaskedInput& input);
// `length`: the round's vector length; any other is refused.
absl::StatusOr<MaskedInput> ParseMaskedInput(std::span<const uint8_t> bytes, uint32_t from,
                                             size_t length);

Bytes SerializeUnmasking(const UnmaskingShares& shares);
absl::StatusOr<UnmaskingShares> ParseUnmasking(std::span<const uint8_t> bytes, uint32_t from);

// Server -> client: its neighbours' keys; the shares addressed to it (`to` must be the
// recipient); the survivors U3, strictly increasing.
Bytes SerializeKeyList(std::span<const AdvertisedKeys> keys);
absl::StatusOr<std::vector<AdvertisedKeys>> ParseKeyList(std::span<const uint8_t> bytes);

absl::StatusOr<std::vector<EncryptedShare>> ParseSharesFor(std::span<const uint8_t> bytes,
                                                           uint32_t to);

Bytes SerializeSurvivors(std::span<const uint32_t> survivors);
absl::StatusOr<std::vector<uint32_t>> ParseSurvivors(std::span<const uint8_t> bytes);

}  // namespace tributary

#endif  // TRIBUTARY_SECAGG_SECAGG_MESSAGES_H_
