// The four stages of secure aggregation (Bell et al. 2020, SecAgg+; Bonawitz et al. 2017 on the
// complete graph), as a client and a server object that exchange messages. They hold no network
// code: a round engine's channel carries the messages, so simulation and deployment run this
// same code.
//
//   0 AdvertiseKeys  client -> server: two X25519 public keys (share encryption, masking)
//                    server -> client: its neighbours' keys (those that advertised: U1)
//   1 ShareKeys      client -> server: for each neighbour in U1, its Shamir shares of the
//                    client's masking secret key and self-mask seed, sealed to that neighbour
//                    server -> client: the shares addressed to it (senders: U2)
//   2 MaskedInput    client -> server: input + PRG(self seed) + sum over neighbours v in U2 of
//                    +-PRG(agreed key with v) (+ when the client's number is lower), mod 2^32
//   3 Unmasking      server -> client: who sent a masked input (U3)
//                    client -> server: for each neighbour v in U2, the self-seed share if v is in
//                    U3, else the masking-key share; never both
//   The server recovers the survivors' seeds and the dropped clients' masking keys from t shares
//   each and removes every mask left: the sum of U3's inputs, nothing about any one of them.
// Every stage needs t survivors; with fewer the round is abandoned and nothing is revealed.
#ifndef TRIBUTARY_SECAGG_SECAGG_PROTOCOL_H_
#define TRIBUTARY_SECAGG_SECAGG_PROTOCOL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "secagg/secagg_crypto.h"
#include "secagg/secagg_params.h"
#include "secagg/shamir.h"

namespace tributary {

struct AdvertisedKeys {
  uint32_t from = 0;
  PublicKey cipher_key{};  // seals the shares sent to this client
  PublicKey mask_key{};    // agrees the pairwise masks
  int64_t WireBytes() const { return 4 + 2 * 32; }
};

struct EncryptedShare {
  uint32_t from = 0;
  uint32_t to = 0;
  std::vector<uint8_t> sealed;  // (from, to, mask-key share, self-seed share), sealed to `to`
  int64_t WireBytes() const { return 8 + static_cast<int64_t>(sealed.size()); }
};

struct MaskedInput {
  uint32_t from = 0;
  std::vector<uint32_t> masked;
  int64_t WireBytes() const { return 4 + 4 * static_cast<int64_t>(masked.size()); }
};

struct UnmaskingShares {
  uint32_t from = 0;
  std::vector<std::pair<uint32_t, ShamirShare>> self_seed_shares;  // of neighbours in U3
  std::vector<std::pair<uint32_t, ShamirShare>> mask_key_shares;   // of neighbours in U2 \ U3
  int64_t WireBytes() const {
    return 4 + static_cast<int64_t>(self_seed_shares.size() + mask_key_shares.size()) *
                   (4 + static_cast<int64_t>(kShamirShareBytes));
  }
};

class SecAggClient {
 public:
  // Fails on invalid parameters or a client number outside the cohort.
  static absl::StatusOr<SecAggClient> Create(const SecAggParams& params, uint32_t index);

  AdvertisedKeys AdvertiseKeys() const;
  // `neighbours`: the advertised keys the server forwarded. Fails (the client drops out) when
  // they are fewer than t, not its neighbours, or repeated.
  absl::StatusOr<std::vector<EncryptedShare>> ShareKeys(std::span<const AdvertisedKeys> neighbours);
  // `received`: the shares addressed to this client; `input`: its quantized update, each value
  // below 2^input_bits. Fails when a share does not open or fewer than t arrived.
  absl::StatusOr<MaskedInput> MaskInput(std::span<const EncryptedShare> received,
                                        std::span<const uint32_t> input);
  // `survivors`: the clients whose masked input the server received (U3).
  absl::StatusOr<UnmaskingShares> Unmask(std::span<const uint32_t> survivors) const;

 private:
  struct HeldShares {
    ShamirShare mask_key;
    ShamirShare self_seed;
  };
  SecAggClient(const SecAggParams& params, uint32_t index);

  SecAggParams params_;
  uint32_t index_ = 0;
  std::vector<uint32_t> neighbors_;
  KeyPair cipher_keys_;
  KeyPair mask_keys_;
  Secret self_seed_{};
  std::map<uint32_t, AdvertisedKeys> neighbour_keys_;  // U1 among the neighbours
  std::map<uint32_t, HeldShares> held_;                // U2 among the neighbours
};

class SecAggServer {
 public:
  static absl::StatusOr<SecAggServer> Create(const SecAggParams& params);

  // Stage 0. A malformed or unexpected message is refused; its sender is then out of the round.
  absl::Status ReceiveKeys(const AdvertisedKeys& keys);
  // Closes stage 0: fails (the round is abandoned) with fewer than t clients.
  absl::Status CloseAdvertising();
  std::vector<AdvertisedKeys> KeysFor(uint32_t client) const;

  // Stage 1: `shares` must hold one share for each of the sender's neighbours in U1.
  absl::Status ReceiveShares(uint32_t from, std::vector<EncryptedShare> shares);
  absl::Status CloseSharing();
  std::vector<EncryptedShare> SharesFor(uint32_t client) const;

  // Stage 2: added into the running sum as it arrives.
  absl::Status ReceiveMaskedInput(const MaskedInput& input);
  // U3, the clients whose masked input arrived; fails with fewer than t.
  absl::StatusOr<std::vector<uint32_t>> CloseMasking();

  // Stage 3.
  absl::Status ReceiveUnmaskingShares(const UnmaskingShares& shares);
  // The sum of U3's inputs mod 2^32; fails (abandoned) when a secret it needs has fewer than t
  // shares.
  absl::StatusOr<std::vector<uint32_t>> Finish();

  // For tests of the protocol's promise: whether the server ever held a share of both secrets
  // of one client.
  bool HeldBothSecretsOfAClient() const;
  const std::vector<uint32_t>& survivors() const { return masked_; }

 private:
  enum class Stage { kAdvertising, kSharing, kMasking, kUnmasking, kDone };
  explicit SecAggServer(const SecAggParams& params);
  absl::Status Expect(Stage stage, const char* what) const;
  bool IsNeighbour(uint32_t a, uint32_t b) const;

  SecAggParams params_;
  std::vector<std::vector<uint32_t>> graph_;
  Stage stage_ = Stage::kAdvertising;
  std::map<uint32_t, AdvertisedKeys> keys_;                    // U1
  std::map<uint32_t, std::vector<EncryptedShare>> shares_to_;  // by recipient
  std::set<uint32_t> shared_;                                  // U2
  std::vector<uint32_t> sum_;
  std::vector<uint32_t> masked_;                              // U3, sorted
  std::set<uint32_t> unmasked_from_;                          // U4
  std::map<uint32_t, std::vector<ShamirShare>> seed_shares_;  // by owner
  std::map<uint32_t, std::vector<ShamirShare>> key_shares_;   // by owner
};

}  // namespace tributary

#endif  // TRIBUTARY_SECAGG_SECAGG_PROTOCOL_H_
