#include "run/round_share.h"

#include <gtest/gtest.h>

#include <vector>

namespace tributary {
namespace {

std::vector<SharedClient> Example() {
  SharedClient trained{.position = 3,
                       .record = {.client = 17,
                                  .fate = ClientFate::kDropped,
                                  .uploaded = true,
                                  .bytes_up = 1234,
                                  .report = {.client = 17,
                                             .round = 2,
                                             .num_examples = 60,
                                             .mean_loss = 0.75,
                                             .train_seconds = 0.125,
                                             .examples_processed = 120},
                                  .finish_seconds = 4.5}};
  trained.upload.emplace();
  trained.upload->report = trained.record.report;
  trained.upload->update = {1, 2, 3, 250};
  trained.upload->attachment = {9};
  SharedClient refused{
      .position = 0,
      .record = {
          .client = 5, .fate = ClientFate::kRejected, .error = "training failed: non-finite loss"}};
  return {trained, refused};
}

TEST(RoundShareTest, RoundTripsRecordsAndUploads) {
  const std::vector<SharedClient> sent = Example();
  absl::StatusOr<std::vector<SharedClient>> got = ParseRoundShare(SerializeRoundShare(sent));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  const SharedClient& a = (*got)[0];
  EXPECT_EQ(a.position, 3u);
  EXPECT_EQ(a.record.client, 17u);
  EXPECT_TRUE(a.record.uploaded);
  EXPECT_EQ(a.record.bytes_up, 1234);
  EXPECT_EQ(a.record.finish_seconds, 4.5);
  EXPECT_EQ(a.record.report.num_examples, 60);
  EXPECT_EQ(a.record.report.mean_loss, 0.75);
  EXPECT_EQ(a.record.report.examples_processed, 120);
  ASSERT_TRUE(a.upload.has_value());
  EXPECT_EQ(a.upload->update, sent[0].upload->update);
  EXPECT_EQ(a.upload->attachment, sent[0].upload->attachment);
  EXPECT_EQ(a.upload->report.round, 2);
  const SharedClient& b = (*got)[1];
  EXPECT_EQ(b.record.fate, ClientFate::kRejected);
  EXPECT_EQ(b.record.error, "training failed: non-finite loss");
  EXPECT_FALSE(b.upload.has_value());
  EXPECT_TRUE(ParseRoundShare(SerializeRoundShare({})).value().empty());
}

TEST(RoundShareTest, MalformedBytesAreAnErrorNeverACrash) {
  const std::vector<uint8_t> bytes = SerializeRoundShare(Example());
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_FALSE(ParseRoundShare({bytes.data(), length}).ok()) << length;
  }
  std::vector<uint8_t> trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(ParseRoundShare(trailing).ok());
  // The first client's fate byte follows its count (1 byte), position (1) and client id (4).
  std::vector<uint8_t> bad_fate = bytes;
  bad_fate[6] = 9;
  EXPECT_EQ(ParseRoundShare(bad_fate).status().message(), "round share: unknown client fate");
  std::vector<uint8_t> huge_count = {0xff, 0xff, 0xff, 0x0f};
  EXPECT_FALSE(ParseRoundShare(huge_count).ok());
}

}  // namespace
}  // namespace tributary
