#include "report/round_report_queue.h"

#include <utility>

namespace tributary {

RoundReportQueue::~RoundReportQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RoundReportQueue::WouldDefer(const RoundMetrics& metrics) {
  std::lock_guard lock(mu_);
  return metrics.pending_evaluation.valid() || !queue_.empty() || busy_;
}

absl::Status RoundReportQueue::Push(RoundMetrics metrics, Report report) {
  std::unique_lock lock(mu_);
  if (!first_error_.ok()) return first_error_;
  if (!metrics.pending_evaluation.valid() && queue_.empty() && !busy_) {
    lock.unlock();
    absl::Status status = report(metrics);
    lock.lock();
    if (!status.ok() && first_error_.ok()) first_error_ = status;
    return first_error_;
  }
  queue_.emplace_back(std::move(metrics), std::move(report));
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  changed_.notify_all();
  return absl::OkStatus();
}

absl::Status RoundReportQueue::Drain() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [this] { return queue_.empty() && !busy_; });
  return first_error_;
}

void RoundReportQueue::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left
    auto [metrics, report] = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    const bool skip = !first_error_.ok();
    lock.unlock();
    absl::Status status = absl::OkStatus();
    if (!skip) {
      status = AwaitEvaluation(metrics);
      if (status.ok()) status = report(metrics);
    }
    lock.lock();
    if (!status.ok() && first_error_.ok()) first_error_ = status;
    busy_ = false;
    changed_.notify_all();
  }
}

}  // namespace tributary
