#include "report/round_report_queue.h"

#include <gtest/gtest.h>

#include <future>
#include <vector>

namespace tributary {
namespace {

RoundMetrics Pending(int round, std::promise<absl::StatusOr<TestEvaluation>>& evaluation) {
  RoundMetrics m;
  m.round = round;
  m.pending_evaluation = evaluation.get_future().share();
  return m;
}

TEST(RoundReportQueueTest, ReportsAtOnceWhenNothingIsPending) {
  RoundReportQueue queue;
  std::vector<int> reported;
  RoundMetrics m;
  m.round = 1;
  EXPECT_FALSE(queue.WouldDefer(m));
  ASSERT_TRUE(queue
                  .Push(m,
                        [&](const RoundMetrics& r) {
                          reported.push_back(r.round);
                          return absl::OkStatus();
                        })
                  .ok());
  EXPECT_EQ(reported, std::vector<int>{1});  // before Push returned
}

TEST(RoundReportQueueTest, ReportsInRoundOrderWithTheEvaluationFilledIn) {
  RoundReportQueue queue;
  std::mutex mu;
  std::vector<RoundMetrics> reported;
  const auto report = [&](const RoundMetrics& r) {
    std::lock_guard lock(mu);
    reported.push_back(r);
    return absl::OkStatus();
  };
  std::promise<absl::StatusOr<TestEvaluation>> first, third;
  ASSERT_TRUE(queue.Push(Pending(1, first), report).ok());
  RoundMetrics second;
  second.round = 2;
  EXPECT_TRUE(queue.WouldDefer(second));  // behind round 1
  ASSERT_TRUE(queue.Push(second, report).ok());
  ASSERT_TRUE(queue.Push(Pending(3, third), report).ok());
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(reported.empty()) << "round 1's evaluation has not finished";
  }
  third.set_value(TestEvaluation{.accuracy = 0.75, .loss = 0.5, .seconds = 2.0});
  first.set_value(TestEvaluation{.accuracy = 0.25, .loss = 1.5, .seconds = 1.0});
  ASSERT_TRUE(queue.Drain().ok());
  ASSERT_EQ(reported.size(), 3u);
  EXPECT_EQ(reported[0].round, 1);
  EXPECT_EQ(reported[1].round, 2);
  EXPECT_EQ(reported[2].round, 3);
  EXPECT_EQ(reported[0].test_accuracy, 0.25);
  EXPECT_EQ(reported[0].test_loss, 1.5);
  EXPECT_EQ(reported[0].eval_seconds, 1.0);
  EXPECT_FALSE(reported[1].test_accuracy.has_value());
  EXPECT_EQ(reported[2].test_accuracy, 0.75);
  EXPECT_FALSE(reported[2].pending_evaluation.valid());
}

TEST(RoundReportQueueTest, AFailedEvaluationStopsTheReports) {
  RoundReportQueue queue;
  int reports = 0;
  const auto report = [&](const RoundMetrics&) {
    ++reports;
    return absl::OkStatus();
  };
  std::promise<absl::StatusOr<TestEvaluation>> evaluation;
  ASSERT_TRUE(queue.Push(Pending(1, evaluation), report).ok());
  evaluation.set_value(absl::InternalError("evaluation failed"));
  EXPECT_EQ(queue.Drain().message(), "evaluation failed");
  RoundMetrics next;
  next.round = 2;
  EXPECT_EQ(queue.Push(next, report).message(), "evaluation failed");
  EXPECT_EQ(reports, 0);
}

TEST(RoundReportQueueTest, AFailedReportStopsTheLaterOnes) {
  RoundReportQueue queue;
  std::vector<int> reported;
  const auto report = [&](const RoundMetrics& r) {
    reported.push_back(r.round);
    return r.round == 1 ? absl::DataLossError("disk full") : absl::OkStatus();
  };
  std::promise<absl::StatusOr<TestEvaluation>> evaluation;
  ASSERT_TRUE(queue.Push(Pending(1, evaluation), report).ok());
  RoundMetrics second;
  second.round = 2;
  ASSERT_TRUE(queue.Push(second, report).ok());
  evaluation.set_value(TestEvaluation{});
  EXPECT_EQ(queue.Drain().message(), "disk full");
  EXPECT_EQ(reported, std::vector<int>{1});
}

}  // namespace
}  // namespace tributary
