// Reports rounds in order when their test evaluation runs alongside the next round
// (compute.eval_threads > 0): a round's report (its metrics line, a deployed server's checkpoint)
// waits on a thread of its own for the evaluation, so the round loop goes on. Without a pending
// evaluation, and with nothing queued before it, a report runs at once on the caller's thread,
// exactly as a plain call would.
#ifndef TRIBUTARY_REPORT_ROUND_REPORT_QUEUE_H_
#define TRIBUTARY_REPORT_ROUND_REPORT_QUEUE_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "report/round_metrics.h"

namespace tributary {

class RoundReportQueue {
 public:
  using Report = std::function<absl::Status(const RoundMetrics&)>;

  RoundReportQueue() = default;
  ~RoundReportQueue();  // waits for the queued reports
  RoundReportQueue(const RoundReportQueue&) = delete;
  RoundReportQueue& operator=(const RoundReportQueue&) = delete;

  // Runs `report` on `metrics` once its evaluation has finished (filled in), after every report
  // pushed before it. Returns the first error of a report or an evaluation so far: the run
  // should stop; later pushes are dropped. A deferred report must not refer to what the caller
  // changes meanwhile (copy what it needs into the function).
  absl::Status Push(RoundMetrics metrics, Report report);
  // Waits until every pushed report has run; the first error so far.
  absl::Status Drain();
  // Whether Push would defer a report of `metrics` (pending evaluation, or reports queued).
  bool WouldDefer(const RoundMetrics& metrics);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::pair<RoundMetrics, Report>> queue_;
  bool busy_ = false;  // the thread is running a report taken off the queue
  bool stopping_ = false;
  absl::Status first_error_;
  std::thread thread_;  // started by the first deferred report
};

}  // namespace tributary

#endif  // TRIBUTARY_REPORT_ROUND_REPORT_QUEUE_H_
