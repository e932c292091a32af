#include "engine/recorded_rounds.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tributary {
namespace {

absl::StatusOr<std::map<int, RecordedRound>> Read(const std::string& text) {
  // One file per test process: ctest runs this file's tests in parallel processes.
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("tributary_recorded_rounds_" + std::to_string(getpid()) + ".jsonl"))
                               .string();
  std::ofstream(path) << text;
  return ReadRecordedRounds(path);
}

TEST(RecordedRoundsTest, ReadsEachRoundsParticipation) {
  auto rounds = Read(
      "{\"round\":0,\"test_accuracy\":0.1}\n"
      "{\"round\":1,\"accepted_clients\":[0,3,5],\"expected_weight\":2400}\n"
      "{\"round\":2,\"accepted_clients\":[]}\n");
  ASSERT_TRUE(rounds.ok()) << rounds.status();
  ASSERT_EQ(rounds->size(), 2u);
  EXPECT_EQ(rounds->at(1).accepted_clients, (std::vector<uint32_t>{0, 3, 5}));
  EXPECT_EQ(rounds->at(1).expected_weight, 2400);
  EXPECT_TRUE(rounds->at(2).accepted_clients.empty());
  EXPECT_EQ(rounds->at(2).expected_weight, 0);
}

TEST(RecordedRoundsTest, RefusesWhatIsNotAClearRecord) {
  for (const char* bad : {
           "not json\n",
           "{\"round\":1}\n",                                    // no participation
           "{\"round\":1,\"accepted_clients\":[3,1]}\n",         // not ascending
           "{\"round\":1,\"accepted_clients\":[1,1]}\n",         // twice
           "{\"round\":1,\"accepted_clients\":[-1]}\n",          // not an id
           "{\"round\":1,\"accepted_clients\":[4294967296]}\n",  // past 32 bits
           "{\"round\":1,\"accepted_clients\":[1],\"expected_weight\":-5}\n",
           "{\"round\":1,\"accepted_clients\":[1]}\n{\"round\":1,\"accepted_clients\":[2]}\n",
       }) {
    EXPECT_FALSE(Read(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace tributary
