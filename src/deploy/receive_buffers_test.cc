#include "deploy/receive_buffers.h"

#include <gtest/gtest.h>

#include <thread>

#include "deploy/transfer.h"

namespace tributary {
namespace {

TEST(ReceiveBuffersTest, GivesBackTheMemoryOfTheLargestKeptBuffer) {
  ReceiveBuffers buffers(2);
  EXPECT_EQ(buffers.Take().capacity(), 0u);  // nothing kept yet
  Payload small(100), large(5000);
  const uint8_t* large_memory = large.data();
  buffers.Give(std::move(small));
  buffers.Give(std::move(large));
  Payload taken = buffers.Take();
  EXPECT_TRUE(taken.empty());
  EXPECT_EQ(taken.data(), large_memory);
  EXPECT_EQ(buffers.idle(), 1u);
}

TEST(ReceiveBuffersTest, KeepsAtMostItsLimit) {
  ReceiveBuffers buffers(2);
  for (int i = 0; i < 4; ++i) buffers.Give(Payload(10));
  EXPECT_EQ(buffers.idle(), 2u);
  buffers.Give(Payload());  // no memory to keep
  ReceiveBuffers none(0);
  none.Give(Payload(10));
  EXPECT_EQ(none.idle(), 0u);
}

TEST(ReceiveBuffersTest, PrepareMakesBuffersLargeEnoughAndReplacesSmallerOnes) {
  ReceiveBuffers buffers(2);
  buffers.Give(Payload(10));
  buffers.Give(Payload(20));
  buffers.Prepare(1000, 1);
  EXPECT_EQ(buffers.idle(), 2u);
  EXPECT_GE(buffers.Take().capacity(), 1000u);
  EXPECT_LT(buffers.Take().capacity(), 1000u);  // the 20-byte one stayed
  buffers.Prepare(1000, 5);                     // capped at the limit
  EXPECT_EQ(buffers.idle(), 2u);
  EXPECT_GE(buffers.Take().capacity(), 1000u);
  EXPECT_GE(buffers.Take().capacity(), 1000u);
  buffers.Give(Payload(2000));
  buffers.Prepare(1000, 1);  // already there: nothing made
  EXPECT_EQ(buffers.idle(), 1u);
}

TEST(ReceiveBuffersTest, AnAssemblerReceivesIntoTheGivenMemory) {
  ReceiveBuffers buffers(1);
  buffers.Prepare(4096, 1);
  Payload buffer = buffers.Take();
  buffer.assign(3, 9);  // left over from an earlier upload: dropped
  const uint8_t* memory = buffer.data();
  const std::string chunk(4000, 'a');
  const Payload expected(chunk.begin(), chunk.end());
  auto assembler = PayloadAssembler::Start(4000, PayloadChecksum(expected), 1 << 20,
                                           BufferPages::kOrdinary, std::move(buffer));
  ASSERT_TRUE(assembler.ok());
  ASSERT_TRUE(assembler->Add(chunk).ok());
  absl::StatusOr<Payload> done = std::move(*assembler).Finish();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, expected);
  EXPECT_EQ(done->data(), memory);
}

TEST(ReceiveBuffersTest, PrepareRunsAlongsideTakeAndGive) {
  ReceiveBuffers buffers(2);
  std::thread preparer([&] {
    for (int i = 0; i < 50; ++i) buffers.Prepare(4096, 2);
  });
  for (int i = 0; i < 200; ++i) buffers.Give(buffers.Take());
  preparer.join();
  EXPECT_LE(buffers.idle(), 2u);
}

}  // namespace
}  // namespace tributary
