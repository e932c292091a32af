#include "engine/worker_pool.h"

namespace tributary {

WorkerPool::WorkerPool(int num_workers, std::function<void(int worker)> on_start) {
  for (int i = 0; i < num_workers; ++i) {
    threads_.emplace_back([this, i, on_start] { Loop(i, on_start); });
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_available_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void WorkerPool::Submit(Task task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
  }
  work_available_.notify_one();
}

void WorkerPool::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  all_done_.wait(lock, [this] { return queue_.empty() && running_ == 0; });
}

void WorkerPool::Loop(int worker, const std::function<void(int)>& on_start) {
  if (on_start) on_start(worker);
  while (true) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_available_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    task(worker);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --running_;
      if (queue_.empty() && running_ == 0) all_done_.notify_all();
    }
  }
}

}  // namespace tributary
