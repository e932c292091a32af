#include "secagg/secagg_messages.h"

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "compress/byte_stream.h"

namespace tributary {
namespace {

// A sealed share is 136 bytes (nonce, two Shamir shares and the sender and recipient, tag);
// anything much longer is not one.
constexpr uint64_t kMaxSealedBytes = 1024;

absl::Status Done(const ByteReader& in, const char* what) {
  if (in.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("secure aggregation ", what, ": ", in.remaining(), " bytes after the end"));
  }
  return absl::OkStatus();
}

absl::Status WrongSender(const char* what, uint32_t claimed, uint32_t from) {
  return absl::InvalidArgumentError(absl::StrCat("secure aggregation ", what, " claims to be from ",
                                                 claimed, ", sent by ", from));
}

// A count of items of at least `item_bytes` each, which the rest of the message must be able
// to hold.
absl::StatusOr<size_t> GetCount(ByteReader& in, size_t item_bytes, const char* what) {
  TRIB_ASSIGN_OR_RETURN(const uint64_t count, in.GetVarint());
  if (count > in.remaining() / item_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("secure aggregation ", what, ": ", count,
                                                   " items cannot fit in ", in.remaining(),
                                                   " bytes"));
  }
  return static_cast<size_t>(count);
}

void PutKeys(ByteWriter& out, const AdvertisedKeys& keys) {
  out.Put(keys.from);
  out.PutBytes(keys.cipher_key);
  out.PutBytes(keys.mask_key);
}

absl::StatusOr<AdvertisedKeys> GetKeys(ByteReader& in) {
  AdvertisedKeys keys;
  TRIB_ASSIGN_OR_RETURN(keys.from, in.Get<uint32_t>());
  TRIB_ASSIGN_OR_RETURN(auto cipher, in.GetBytes(keys.cipher_key.size()));
  std::copy(cipher.begin(), cipher.end(), keys.cipher_key.begin());
  TRIB_ASSIGN_OR_RETURN(auto mask, in.GetBytes(keys.mask_key.size()));
  std::copy(mask.begin(), mask.end(), keys.mask_key.begin());
  return keys;
}

constexpr size_t kKeysBytes = 4 + 2 * 32;

void PutShare(ByteWriter& out, const EncryptedShare& share) {
  out.Put(share.from);
  out.Put(share.to);
  out.PutVarint(share.sealed.size());
  out.PutBytes(share.sealed);
}

absl::StatusOr<EncryptedShare> GetShare(ByteReader& in) {
  EncryptedShare share;
  TRIB_ASSIGN_OR_RETURN(share.from, in.Get<uint32_t>());
  TRIB_ASSIGN_OR_RETURN(share.to, in.Get<uint32_t>());
  TRIB_ASSIGN_OR_RETURN(const uint64_t length, in.GetVarint());
  if (length > kMaxSealedBytes) {
    return absl::InvalidArgumentError(absl::StrCat("secure aggregation share of ", length,
                                                   " bytes (at most ", kMaxSealedBytes, ")"));
  }
  TRIB_ASSIGN_OR_RETURN(auto sealed, in.GetBytes(length));
  share.sealed.assign(sealed.begin(), sealed.end());
  return share;
}

constexpr size_t kMinShareBytes = 4 + 4 + 1;

absl::StatusOr<std::vector<EncryptedShare>> GetShares(ByteReader& in) {
  TRIB_ASSIGN_OR_RETURN(const size_t count, GetCount(in, kMinShareBytes, "share list"));
  std::vector<EncryptedShare> shares;
  shares.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    TRIB_ASSIGN_OR_RETURN(EncryptedShare share, GetShare(in));
    shares.push_back(std::move(share));
  }
  return shares;
}

void PutOwnedShares(ByteWriter& out, std::span<const std::pair<uint32_t, ShamirShare>> shares) {
  out.PutVarint(shares.size());
  for (const auto& [owner, share] : shares) {
    out.Put(owner);
    out.PutBytes(share.Serialize());
  }
}

absl::StatusOr<std::vector<std::pair<uint32_t, ShamirShare>>> GetOwnedShares(ByteReader& in) {
  TRIB_ASSIGN_OR_RETURN(const size_t count,
                        GetCount(in, 4 + kShamirShareBytes, "unmasking share list"));
  std::vector<std::pair<uint32_t, ShamirShare>> shares;
  shares.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    TRIB_ASSIGN_OR_RETURN(const uint32_t owner, in.Get<uint32_t>());
    TRIB_ASSIGN_OR_RETURN(auto bytes, in.GetBytes(kShamirShareBytes));
    TRIB_ASSIGN_OR_RETURN(ShamirShare share, ShamirShare::Parse(bytes));
    shares.emplace_back(owner, share);
  }
  return shares;
}

}  // namespace

Bytes SerializeKeys(const AdvertisedKeys& keys) {
  Bytes bytes;
  ByteWriter out(&bytes);
  PutKeys(out, keys);
  return bytes;
}

absl::StatusOr<AdvertisedKeys> ParseKeys(std::span<const uint8_t> bytes, uint32_t from) {
  ByteReader in(bytes);
  TRIB_ASSIGN_OR_RETURN(AdvertisedKeys keys, GetKeys(in));
  TRIB_RETURN_IF_ERROR(Done(in, "keys"));
  if (keys.from != from) return WrongSender("keys", keys.from, from);
  return keys;
}

Bytes SerializeShares(std::span<const EncryptedShare> shares) {
  Bytes bytes;
  ByteWriter out(&bytes);
  out.PutVarint(shares.size());
  for (const EncryptedShare& share : shares) PutShare(out, share);
  return bytes;
}

absl::StatusOr<std::vector<EncryptedShare>> ParseShares(std::span<const uint8_t> bytes,
                                                        uint32_t from) {
  ByteReader in(bytes);
  TRIB_ASSIGN_OR_RETURN(std::vector<EncryptedShare> shares, GetShares(in));
  TRIB_RETURN_IF_ERROR(Done(in, "shares"));
  for (const EncryptedShare& share : shares) {
    if (share.from != from) return WrongSender("share", share.from, from);
  }
  return shares;
}

absl::StatusOr<std::vector<EncryptedShare>> ParseSharesFor(std::span<const uint8_t> bytes,
                                                           uint32_t to) {
  ByteReader in(bytes);
  TRIB_ASSIGN_OR_RETURN(std::vector<EncryptedShare> shares, GetShares(in));
  TRIB_RETURN_IF_ERROR(Done(in, "forwarded shares"));
  for (const EncryptedShare& share : shares) {
    if (share.to != to) {
      return absl::InvalidArgumentError(absl::StrCat("secure aggregation: a share for client ",
                                                     share.to, " was forwarded to ", to));
    }
  }
  return shares;
}

Bytes SerializeMaskedInput(const MaskedInput& input) {
  Bytes bytes;
  ByteWriter out(&bytes);
  out.Put(input.from);
  out.PutVarint(input.masked.size());
  std::memcpy(out.Extend(4 * input.masked.size()), input.masked.data(), 4 * input.masked.size());
  return bytes;
}

absl::StatusOr<MaskedInput> ParseMaskedInput(std::span<const uint8_t> bytes, uint32_t from,
                                             size_t length) {
  ByteReader in(bytes);
  MaskedInput input;
  TRIB_ASSIGN_OR_RETURN(input.from, in.Get<uint32_t>());
  if (input.from != from) return WrongSender("masked input", input.from, from);
  TRIB_ASSIGN_OR_RETURN(const size_t count, GetCount(in, 4, "masked input"));
  if (count != length) {
    return absl::InvalidArgumentError(absl::StrCat("secure aggregation masked input of ", count,
                                                   " values, the round's vectors have ", length));
  }
  TRIB_ASSIGN_OR_RETURN(auto words, in.GetBytes(4 * count));
  input.masked.resize(count);
  std::memcpy(input.masked.data(), words.data(), words.size());
  TRIB_RETURN_IF_ERROR(Done(in, "masked input"));
  return input;
}

Bytes SerializeUnmasking(const UnmaskingShares& shares) {
  Bytes bytes;
  ByteWriter out(&bytes);
  out.Put(shares.from);
  PutOwnedShares(out, shares.self_seed_shares);
  PutOwnedShares(out, shares.mask_key_shares);
  return bytes;
}

absl::StatusOr<UnmaskingShares> ParseUnmasking(std::span<const uint8_t> bytes, uint32_t from) {
  ByteReader in(bytes);
  UnmaskingShares shares;
  TRIB_ASSIGN_OR_RETURN(shares.from, in.Get<uint32_t>());
  if (shares.from != from) return WrongSender("unmasking", shares.from, from);
  TRIB_ASSIGN_OR_RETURN(shares.self_seed_shares, GetOwnedShares(in));
  TRIB_ASSIGN_OR_RETURN(shares.mask_key_shares, GetOwnedShares(in));
  TRIB_RETURN_IF_ERROR(Done(in, "unmasking"));
  return shares;
}

Bytes SerializeKeyList(std::span<const AdvertisedKeys> keys) {
  Bytes bytes;
  ByteWriter out(&bytes);
  out.PutVarint(keys.size());
  for (const AdvertisedKeys& k : keys) PutKeys(out, k);
  return bytes;
}

absl::StatusOr<std::vector<AdvertisedKeys>> ParseKeyList(std::span<const uint8_t> bytes) {
  ByteReader in(bytes);
  TRIB_ASSIGN_OR_RETURN(const size_t count, GetCount(in, kKeysBytes, "key list"));
  std::vector<AdvertisedKeys> keys;
  keys.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    TRIB_ASSIGN_OR_RETURN(AdvertisedKeys k, GetKeys(in));
    keys.push_back(k);
  }
  TRIB_RETURN_IF_ERROR(Done(in, "key list"));
  return keys;
}

Bytes SerializeSurvivors(std::span<const uint32_t> survivors) {
  Bytes bytes;
  ByteWriter out(&bytes);
  out.PutVarint(survivors.size());
  for (uint32_t s : survivors) out.Put(s);
  return bytes;
}

absl::StatusOr<std::vector<uint32_t>> ParseSurvivors(std::span<const uint8_t> bytes) {
  ByteReader in(bytes);
  TRIB_ASSIGN_OR_RETURN(const size_t count, GetCount(in, 4, "survivor list"));
  std::vector<uint32_t> survivors(count);
  for (size_t i = 0; i < count; ++i) {
    TRIB_ASSIGN_OR_RETURN(survivors[i], in.Get<uint32_t>());
    if (i > 0 && survivors[i] <= survivors[i - 1]) {
      return absl::InvalidArgumentError("secure aggregation survivor list is not increasing");
    }
  }
  TRIB_RETURN_IF_ERROR(Done(in, "survivor list"));
  return survivors;
}

}  // namespace tributary
