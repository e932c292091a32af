#include "run/round_share.h"

#include <gtest/gtest.h>

#include <vector>

namespace tributary {
namespace {

// A trained client whose upload awaits the engine, then one refused before it uploaded.
std::vector<uint8_t> ExampleShare(ClientUpload& upload) {
  const ClientRecord trained{.client = 17,
                             .uploaded = true,
                             .bytes_up = 1234,
                             .report = {.client = 17,
                                        .round = 2,
                                        .num_examples = 60,
                                        .mean_loss = 0.75,
                                        .train_seconds = 0.125,
                                        .examples_processed = 120},
                             .finish_seconds = 4.5};
  upload.report = trained.report;
  upload.update = {1, 2, 3, 250};
  upload.attachment = {9};
  const ClientRecord refused{
      .client = 5, .fate = ClientFate::kRejected, .error = "training failed: non-finite loss"};
  std::vector<uint8_t> share;
  AppendSharedClient(3, trained, &upload, &share);
  AppendSharedClient(0, refused, nullptr, &share);
  return share;
}

TEST(RoundShareTest, RoundTripsRecordsAndUploads) {
  ClientUpload upload;
  const std::vector<uint8_t> share = ExampleShare(upload);
  absl::StatusOr<std::vector<SharedClientView>> got = ParseRoundShare(share);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  const SharedClientView& a = (*got)[0];
  EXPECT_EQ(a.position, 3u);
  EXPECT_EQ(a.record.client, 17u);
  EXPECT_TRUE(a.record.uploaded);
  EXPECT_EQ(a.record.bytes_up, 1234);
  EXPECT_EQ(a.record.finish_seconds, 4.5);
  EXPECT_EQ(a.record.report.round, 2);
  EXPECT_EQ(a.record.report.num_examples, 60);
  EXPECT_EQ(a.record.report.mean_loss, 0.75);
  EXPECT_EQ(a.record.report.examples_processed, 120);
  ASSERT_TRUE(a.has_upload);
  EXPECT_EQ(std::vector<uint8_t>(a.update.begin(), a.update.end()), upload.update);
  EXPECT_EQ(std::vector<uint8_t>(a.attachment.begin(), a.attachment.end()), upload.attachment);
  const SharedClientView& b = (*got)[1];
  EXPECT_EQ(b.position, 0u);
  EXPECT_EQ(b.record.fate, ClientFate::kRejected);
  EXPECT_EQ(b.record.error, "training failed: non-finite loss");
  EXPECT_FALSE(b.has_upload);
  EXPECT_TRUE(ParseRoundShare({}).value().empty());
  EXPECT_LE(share.size(), 2 * kSharedClientOverhead + b.record.error.size() + upload.update.size() +
                              upload.attachment.size());
}

TEST(RoundShareTest, MalformedBytesAreAnErrorNeverACrash) {
  ClientUpload upload;
  const std::vector<uint8_t> share = ExampleShare(upload);
  absl::StatusOr<std::vector<SharedClientView>> whole = ParseRoundShare(share);
  ASSERT_TRUE(whole.ok());
  // Every cut but the one between the two clients leaves a truncated client.
  size_t first_client_size = 0;
  for (size_t length = 1; length < share.size(); ++length) {
    if (ParseRoundShare({share.data(), length}).ok()) {
      EXPECT_EQ(first_client_size, 0u) << "two cuts parsed";
      first_client_size = length;
    }
  }
  EXPECT_GT(first_client_size, 0u);
  std::vector<uint8_t> trailing = share;
  trailing.push_back(0);
  EXPECT_FALSE(ParseRoundShare(trailing).ok());
  // The first client's fate byte follows its position (1 byte) and client id (4).
  std::vector<uint8_t> bad_fate = share;
  bad_fate[5] = 9;
  EXPECT_EQ(ParseRoundShare(bad_fate).status().message(), "round share: unknown client fate");
  const std::vector<uint8_t> huge_length = {0, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_FALSE(ParseRoundShare(huge_length).ok());
}

}  // namespace
}  // namespace tributary
