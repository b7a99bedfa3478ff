#include "master/zk_in_flight.h"

#include <zookeeper/zookeeper.h>

namespace agora::master {

ZkInFlight::ZkInFlight(size_t n) : calls_(n), unanswered_(n) {
  for (Call& c : calls_) c.batch = this;
}

std::vector<ZkSlot> ZkInFlight::Run(size_t n, absl::Duration timeout,
                                    const std::function<int(size_t, const void*)>& issue) {
  auto* batch = new ZkInFlight(n);  // freed by the last of the caller and the late completions
  for (size_t i = 0; i < n; ++i) {
    Call& call = batch->calls_[i];
    const int rc = issue(i, &call);
    if (rc != ZOK) batch->Finish(call, rc, nullptr, 0);  // refused at once: no completion will come
  }
  std::vector<ZkSlot> out(n);
  bool nobodys = false;
  {
    std::unique_lock<std::mutex> lock(batch->mu_);
    batch->cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return batch->unanswered_ == 0; });
    for (size_t i = 0; i < n; ++i) {
      Call& call = batch->calls_[i];
      if (call.answered) {
        out[i] = std::move(call.slot);
      } else {
        out[i].rc = ZOPERATIONTIMEOUT;
      }
    }
    batch->waiting_ = false;
    nobodys = batch->unanswered_ == 0;
  }
  if (nobodys) delete batch;
  return out;
}

void ZkInFlight::Answer(const void* data, int rc, const char* value, int length) {
  Call& call = *const_cast<Call*>(static_cast<const Call*>(data));
  ZkInFlight* batch = call.batch;
  if (batch->Finish(call, rc, value, length)) delete batch;
}

bool ZkInFlight::Finish(Call& call, int rc, const char* value, int length) {
  std::lock_guard<std::mutex> lock(mu_);
  call.slot.rc = rc;
  if (rc == ZOK && value != nullptr && length > 0) call.slot.value.assign(value, length);
  call.answered = true;
  if (--unanswered_ == 0) cv_.notify_all();
  return unanswered_ == 0 && !waiting_;
}

}  // namespace agora::master
