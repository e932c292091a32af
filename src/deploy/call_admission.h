// CallAdmission: how many calls one client, and the whole server, may hold at once. The
// synchronous gRPC server spends a thread on each call in progress, and a client's NextRound
// waits for as long as it is not selected: without a bound, one authenticated client opening
// streams in a loop would take every thread and lock the others out.
//
// Thread-safety: Admit and the slots' destructors may run concurrently.
#ifndef TRIBUTARY_DEPLOY_CALL_ADMISSION_H_
#define TRIBUTARY_DEPLOY_CALL_ADMISSION_H_

#include <cstdint>
#include <map>
#include <mutex>

namespace tributary {

class CallAdmission {
 public:
  enum class Refusal { kNone, kClientBusy, kServerBusy };

  CallAdmission(int max_per_client, int max_total)
      : max_per_client_(max_per_client), max_total_(max_total) {}

  // Holds one call's place while it lives.
  class Slot {
   public:
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&&) = delete;
    ~Slot();
    bool admitted() const { return refusal_ == Refusal::kNone; }
    Refusal refusal() const { return refusal_; }

   private:
    friend class CallAdmission;
    Slot(CallAdmission* owner, uint32_t client, Refusal refusal)
        : owner_(owner), client_(client), refusal_(refusal) {}
    CallAdmission* owner_;  // null once moved from or when refused
    uint32_t client_;
    Refusal refusal_;
  };
  Slot Admit(uint32_t client);

  int calls_in_progress() const;

 private:
  void Release(uint32_t client);

  const int max_per_client_;
  const int max_total_;
  mutable std::mutex mu_;
  std::map<uint32_t, int> per_client_;
  int total_ = 0;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_CALL_ADMISSION_H_
