// A fixed set of worker threads, each with a stable index so that it can own per-worker state
// (a model replica, scratch buffers).
//
// Thread-safety: Submit() and Wait() may be called from one controlling thread.
#ifndef TRIBUTARY_ENGINE_WORKER_POOL_H_
#define TRIBUTARY_ENGINE_WORKER_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tributary {

class WorkerPool {
 public:
  using Task = std::function<void(int worker)>;

  // `on_start(worker)` runs once on each worker thread before its first task.
  WorkerPool(int num_workers, std::function<void(int worker)> on_start);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return static_cast<int>(threads_.size()); }
  void Submit(Task task);
  // Blocks until every submitted task has finished.
  void Wait();

 private:
  void Loop(int worker, const std::function<void(int)>& on_start);

  std::mutex mutex_;
  std::condition_variable work_available_;
  std::condition_variable all_done_;
  std::deque<Task> queue_;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_WORKER_POOL_H_
