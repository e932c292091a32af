#include "report/round_metrics.h"

namespace tributary {

void RecordTestEvaluation(const TestEvaluation& evaluation, RoundMetrics& metrics) {
  metrics.test_accuracy = evaluation.accuracy;
  metrics.test_loss = evaluation.loss;
  metrics.test_perplexity = evaluation.perplexity;
  metrics.eval_seconds = evaluation.seconds;
}

absl::Status AwaitEvaluation(RoundMetrics& metrics) {
  if (!metrics.pending_evaluation.valid()) return absl::OkStatus();
  const absl::StatusOr<TestEvaluation>& evaluation = metrics.pending_evaluation.get();
  if (!evaluation.ok()) return evaluation.status();
  RecordTestEvaluation(*evaluation, metrics);
  metrics.pending_evaluation = {};
  return absl::OkStatus();
}

}  // namespace tributary
