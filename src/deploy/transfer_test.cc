#include "deploy/transfer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace tributary {
namespace {

Payload Bytes(size_t n) {
  Payload p(n);
  std::iota(p.begin(), p.end(), uint8_t{7});
  return p;
}

std::string_view View(const Payload& p, size_t begin, size_t end) {
  return {reinterpret_cast<const char*>(p.data()) + begin, end - begin};
}

TEST(PayloadAssemblerTest, ReassemblesChunks) {
  const Payload payload = Bytes(5000);
  auto assembler = PayloadAssembler::Start(5000, PayloadChecksum(payload), 1 << 20);
  ASSERT_TRUE(assembler.ok());
  ASSERT_TRUE(assembler->Add(View(payload, 0, 4096)).ok());
  ASSERT_TRUE(assembler->Add(View(payload, 4096, 5000)).ok());
  absl::StatusOr<Payload> done = std::move(*assembler).Finish();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, payload);
}

TEST(PayloadAssemblerTest, HugePageBufferReassemblesALargePayload) {
  const Payload payload = Bytes(20 * kChunkBytes + 123);
  auto assembler =
      PayloadAssembler::Start(static_cast<int64_t>(payload.size()), PayloadChecksum(payload),
                              int64_t{1} << 30, BufferPages::kHuge);
  ASSERT_TRUE(assembler.ok());
  for (size_t offset = 0; offset < payload.size(); offset += kChunkBytes) {
    ASSERT_TRUE(
        assembler->Add(View(payload, offset, std::min(payload.size(), offset + kChunkBytes))).ok());
  }
  absl::StatusOr<Payload> done = std::move(*assembler).Finish();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, payload);
}

TEST(PayloadAssemblerTest, IncompleteTransferIsNeverUsed) {
  const Payload payload = Bytes(5000);
  auto assembler = PayloadAssembler::Start(5000, PayloadChecksum(payload), 1 << 20);
  ASSERT_TRUE(assembler->Add(View(payload, 0, 4999)).ok());
  absl::StatusOr<Payload> done = std::move(*assembler).Finish();
  EXPECT_EQ(done.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(done.status().message().find("4999 of 5000"), std::string::npos);
}

TEST(PayloadAssemblerTest, CorruptedByteFailsTheChecksum) {
  Payload payload = Bytes(300);
  auto assembler = PayloadAssembler::Start(300, PayloadChecksum(payload), 1 << 20);
  payload[150] ^= 1;
  ASSERT_TRUE(assembler->Add(View(payload, 0, 300)).ok());
  EXPECT_EQ(std::move(*assembler).Finish().status().code(), absl::StatusCode::kDataLoss);
}

TEST(PayloadAssemblerTest, RejectsOversizedAnnouncementsAndChunks) {
  EXPECT_FALSE(PayloadAssembler::Start(2000, 0, 1000).ok());
  EXPECT_FALSE(PayloadAssembler::Start(-1, 0, 1000).ok());
  const Payload payload = Bytes(100);
  auto assembler = PayloadAssembler::Start(50, PayloadChecksum(payload), 1000);
  EXPECT_FALSE(assembler->Add(View(payload, 0, 100)).ok());  // past the announced size
  EXPECT_FALSE(assembler->Add(std::string_view()).ok());     // empty chunk
  const std::string huge(kChunkBytes + 1, 'x');
  auto big = PayloadAssembler::Start(int64_t{1} << 30, 0, int64_t{1} << 30);
  EXPECT_FALSE(big->Add(huge).ok());
}

}  // namespace
}  // namespace tributary
