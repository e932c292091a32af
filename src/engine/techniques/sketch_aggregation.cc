#include "engine/techniques/sketch_aggregation.h"

#include <mutex>

#include "aggregate/sketched_fedavg.h"
#include "common/status_util.h"

namespace tributary {
namespace {

class SketchAggregation final : public Technique, public UploadAggregator {
 public:
  explicit SketchAggregation(std::unique_ptr<Pipeline> uplink)
      : uplink_(std::move(uplink)), sketched_(*uplink_->sketch()) {}
  std::string_view name() const override { return "sketch"; }

  UploadAggregator* aggregator() override { return this; }
  std::vector<std::vector<float>*> carried_state() override {
    return {sketched_.mutable_error_table()};
  }

  absl::Status Init(int64_t expected_examples) override {
    return sketched_.Init(expected_examples);
  }
  absl::Status Accumulate(const ClientUpload& upload, int64_t weight, size_t dimension) override {
    TRIB_ASSIGN_OR_RETURN(std::vector<float> table,
                          uplink_->DecodeSketchTable(upload.update, dimension));
    std::lock_guard lock(mutex_);
    return sketched_.Accumulate(upload.report.client, table, weight);
  }
  // Under secure aggregation the masked vectors are the tables themselves; their mean counts as
  // `count` clients' tables.
  absl::Status AccumulateSecureMean(std::span<const float> mean, int64_t count) override {
    std::lock_guard lock(mutex_);
    return sketched_.Accumulate(0, mean, count);
  }
  absl::StatusOr<ModelState> Finalize(ModelState global) override {
    return sketched_.Finalize(std::move(global));
  }

 private:
  std::unique_ptr<Pipeline> uplink_;  // its sketch stage outlives sketched_
  SketchedFedAvg sketched_;
  std::mutex mutex_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Technique>> CreateSketchAggregation(const ExperimentConfig& config,
                                                                   const ModelState& global) {
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> uplink, Pipeline::Parse(config.compress.uplink));
  if (uplink->sketch() == nullptr) return nullptr;
  return std::make_unique<SketchAggregation>(std::move(uplink));
}

}  // namespace tributary
