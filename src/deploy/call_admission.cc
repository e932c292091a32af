#include "deploy/call_admission.h"

#include <utility>

namespace tributary {

CallAdmission::Slot CallAdmission::Admit(uint32_t client) {
  std::lock_guard lock(mu_);
  if (total_ >= max_total_) return Slot(nullptr, client, Refusal::kServerBusy);
  int& calls = per_client_[client];
  if (calls >= max_per_client_) {
    if (calls == 0) per_client_.erase(client);
    return Slot(nullptr, client, Refusal::kClientBusy);
  }
  ++calls;
  ++total_;
  return Slot(this, client, Refusal::kNone);
}

void CallAdmission::Release(uint32_t client) {
  std::lock_guard lock(mu_);
  auto it = per_client_.find(client);
  if (it == per_client_.end()) return;
  if (--it->second == 0) per_client_.erase(it);
  --total_;
}

int CallAdmission::calls_in_progress() const {
  std::lock_guard lock(mu_);
  return total_;
}

CallAdmission::Slot::Slot(Slot&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      client_(other.client_),
      refusal_(other.refusal_) {}

CallAdmission::Slot::~Slot() {
  if (owner_ != nullptr) owner_->Release(client_);
}

}  // namespace tributary
