#include "run/client_state_spill.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_util.h"

namespace tributary {
namespace {

// Direct I/O's unit: offsets, lengths and buffers are multiples of it.
constexpr int64_t kBlock = 4096;
int64_t RoundUpToBlock(int64_t bytes) { return (bytes + kBlock - 1) / kBlock * kBlock; }

// A spilled state: four counts (residual, low_rank_q, optimizer first, second), then the values.
constexpr int kVectors = ClientStateSpill::kVectors;
constexpr int64_t kHeaderBytes = kVectors * sizeof(int64_t);

std::array<std::vector<float>*, kVectors> Vectors(ClientMemory& memory) {
  return {&memory.codec.residual, &memory.codec.low_rank_q, &memory.optimizer.first,
          &memory.optimizer.second};
}

int64_t StateBytes(const ClientMemory& memory) {
  return static_cast<int64_t>(sizeof(float)) *
         static_cast<int64_t>(memory.codec.residual.size() + memory.codec.low_rank_q.size() +
                              memory.optimizer.first.size() + memory.optimizer.second.size());
}

absl::Status WriteAt(int fd, const void* data, int64_t size, int64_t offset) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = pwrite(fd, bytes, static_cast<size_t>(size), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("writing the client-state spill file: ", std::strerror(errno)));
    }
    bytes += n;
    size -= n;
    offset += n;
  }
  return absl::OkStatus();
}

absl::Status ReadAt(int fd, void* data, int64_t size, int64_t offset) {
  auto* bytes = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = pread(fd, bytes, static_cast<size_t>(size), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::DataLossError(absl::StrCat("reading the client-state spill file: ",
                                              n == 0 ? "it ends early" : std::strerror(errno)));
    }
    bytes += n;
    size -= n;
    offset += n;
  }
  return absl::OkStatus();
}

}  // namespace

ClientStateSpill::ClientStateSpill(int64_t budget_bytes, std::string dir, size_t clients,
                                   bool direct_io)
    : budget_bytes_(budget_bytes), dir_(std::move(dir)), try_direct_(direct_io) {
  if (budget_bytes_ > 0) {
    bytes_.assign(clients, 0);
    last_use_.assign(clients, -1);
    spilled_.resize(clients);
    pending_slot_.assign(clients, -1);
    restoring_slot_.assign(clients, -1);
  }
}

ClientStateSpill::~ClientStateSpill() {
  // The run ends: what the threads read or write is not needed any more.
  if (reading_.valid()) reading_.wait();
  if (writing_.valid()) writing_.wait();
  if (fd_ >= 0) close(fd_);
}

absl::Status ClientStateSpill::OpenFile() {
  const std::string dir =
      dir_.empty() ? std::filesystem::temp_directory_path().string() : std::string(dir_);
  // Unlinked from the start: the kernel frees it when the process ends, however it ends.
  // Direct I/O where the file system has it: the state goes to the disk without passing through
  // the page cache, whose fresh pages cost more here than the disk's time.
  if (try_direct_) fd_ = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC | O_DIRECT, 0600);
  direct_ = fd_ >= 0;
  if (fd_ < 0) fd_ = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0) {  // a file system without O_TMPFILE: create, then unlink at once
    std::string name = (std::filesystem::path(dir) / "tributary-client-state-XXXXXX").string();
    fd_ = mkostemp(name.data(), O_CLOEXEC);
    if (fd_ >= 0) unlink(name.c_str());
  }
  if (fd_ < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("compute.spill_dir: cannot create the client-state spill file in ", dir, ": ",
                     std::strerror(errno)));
  }
  path_ = absl::StrCat(dir, " (unlinked file)");
  LogInfo("clients' state past %.1f MiB (compute.client_state_mb) is spilled to %s%s",
          static_cast<double>(budget_bytes_) / (1 << 20), path_, direct_ ? ", direct I/O" : "");
  return absl::OkStatus();
}

int64_t ClientStateSpill::AllocateExtent(int64_t length) {
  auto free = free_extents_.find(length);
  if (free != free_extents_.end() && !free->second.empty()) {
    const int64_t offset = free->second.back();
    free->second.pop_back();
    return offset;
  }
  const int64_t offset = file_end_;
  file_end_ += length;
  return offset;
}

void ClientStateSpill::AccountLastCohort(std::vector<ClientMemory>& memories) {
  for (uint32_t c : last_cohort_) {
    std::vector<float>& residual = memories[c].codec.residual;
    if (residual.empty() && residual.capacity() > 0) {  // lent, not used (the client dropped)
      spare_.push_back(std::move(residual));
      residual = std::vector<float>();
    }
    const int64_t now = StateBytes(memories[c]);
    resident_bytes_ += now - bytes_[c];
    bytes_[c] = now;
  }
}

absl::Status ClientStateSpill::QueueSpill(uint32_t client, ClientMemory& memory) {
  if (fd_ < 0) TRIB_RETURN_IF_ERROR(OpenFile());
  const int64_t length = kHeaderBytes + bytes_[client];
  // Direct I/O moves whole blocks: the record is padded to them.
  const int64_t footprint = direct_ ? RoundUpToBlock(length) : length;
  PendingWrite& record = pending_.emplace_back();
  record.client = client;
  record.extent = {.offset = AllocateExtent(footprint), .length = length, .footprint = footprint};
  const auto vectors = Vectors(memory);
  for (int v = 0; v < kVectors; ++v) {
    record.vectors[v] = std::move(*vectors[v]);
    std::vector<float>().swap(*vectors[v]);
  }
  pending_slot_[client] = static_cast<int32_t>(pending_.size() - 1);
  spilled_[client] = record.extent;
  spilled_bytes_ += length;
  resident_bytes_ -= bytes_[client];
  bytes_[client] = 0;
  return absl::OkStatus();
}

void ClientStateSpill::StartWriting() {
  if (pending_.empty()) return;
  writing_ = std::async(std::launch::async, [this] { return WritePending(); });
}

ClientStateSpill::WriteResult ClientStateSpill::WritePending() {
  WriteResult result;
  for (; result.written < pending_.size(); ++result.written) {
    result.status = WriteRecord(pending_[result.written]);
    if (!result.status.ok()) break;
  }
  return result;
}

absl::Status ClientStateSpill::WriteRecord(const PendingWrite& record) {
  std::array<int64_t, kVectors> counts;
  for (int v = 0; v < kVectors; ++v) counts[v] = static_cast<int64_t>(record.vectors[v].size());
  const Extent& extent = record.extent;
  if (!direct_) {
    absl::Status written = WriteAt(fd_, counts.data(), kHeaderBytes, extent.offset);
    int64_t at = extent.offset + kHeaderBytes;
    for (int v = 0; v < kVectors && written.ok(); ++v) {
      const int64_t size = counts[v] * static_cast<int64_t>(sizeof(float));
      written = WriteAt(fd_, record.vectors[v].data(), size, at);
      at += size;
    }
    return written;
  }
  uint8_t* staging = write_staging_.Get(extent.footprint);
  if (staging == nullptr) return absl::ResourceExhaustedError("no memory for the spill buffer");
  std::memcpy(staging, counts.data(), kHeaderBytes);
  int64_t at = kHeaderBytes;
  for (const std::vector<float>& vector : record.vectors) {
    std::memcpy(staging + at, vector.data(), vector.size() * sizeof(float));
    at += static_cast<int64_t>(vector.size() * sizeof(float));
  }
  std::memset(staging + at, 0, static_cast<size_t>(extent.footprint - at));
  absl::Status written = WriteAt(fd_, staging, extent.footprint, extent.offset);
  if (!written.ok() && errno == EINVAL) {
    // A file system that opened the file for direct I/O but refuses it: buffered from now on.
    const int flags = fcntl(fd_, F_GETFL);
    if (flags >= 0 && fcntl(fd_, F_SETFL, flags & ~O_DIRECT) == 0) {
      direct_ = false;
      written = WriteAt(fd_, staging, extent.footprint, extent.offset);
    }
  }
  return written;
}

absl::Status ClientStateSpill::FinishWriting(std::vector<ClientMemory>& memories) {
  if (!writing_.valid()) {
    if (pending_.empty()) return absl::OkStatus();
    StartWriting();  // queued by a call that failed before handing them over
  }
  const WriteResult result = writing_.get();
  for (size_t i = 0; i < pending_.size(); ++i) {
    PendingWrite& record = pending_[i];
    pending_slot_[record.client] = -1;
    if (i < result.written) {
      // The residual's buffer goes to a client of the coming round, whose residual then needs
      // no fresh pages (faulting them in is slow on this VM); the rest is freed.
      std::vector<float>& residual = record.vectors[0];
      residual.clear();
      if (residual.capacity() > 0) spare_.push_back(std::move(residual));
      continue;
    }
    // Not written: the state goes back to its client, first in line to be spilled again.
    const auto vectors = Vectors(memories[record.client]);
    for (int v = 0; v < kVectors; ++v) *vectors[v] = std::move(record.vectors[v]);
    free_extents_[record.extent.footprint].push_back(record.extent.offset);
    spilled_[record.client] = {};
    spilled_bytes_ -= record.extent.length;
    bytes_[record.client] = StateBytes(memories[record.client]);
    resident_bytes_ += bytes_[record.client];
    use_order_.emplace_front(record.client, last_use_[record.client]);
  }
  pending_.clear();
  if (result.status.ok()) return result.status;
  return absl::Status(result.status.code(),
                      absl::StrCat(result.status.message(), " in ", path_,
                                   " (compute.spill_dir); the state it held stays in memory"));
}

absl::Status ClientStateSpill::ReadRecord(uint32_t client, const Extent& extent,
                                          ClientMemory& memory) const {
  const auto vectors = Vectors(memory);
  if (StateBytes(memory) != 0) {
    return absl::InternalError(
        absl::StrCat("client ", client, " has state in memory and in the spill file"));
  }
  // Direct I/O: the whole padded record into the staging buffer, values copied from there.
  const uint8_t* staged = nullptr;
  if (direct_) {
    uint8_t* staging = read_staging_.Get(extent.footprint);
    if (staging == nullptr) return absl::ResourceExhaustedError("no memory for the spill buffer");
    TRIB_RETURN_IF_ERROR(ReadAt(fd_, staging, extent.footprint, extent.offset));
    staged = staging;
  }
  std::array<int64_t, kVectors> counts;
  if (staged != nullptr) {
    std::memcpy(counts.data(), staged, kHeaderBytes);
  } else {
    TRIB_RETURN_IF_ERROR(ReadAt(fd_, counts.data(), kHeaderBytes, extent.offset));
  }
  int64_t values = 0;
  for (int64_t count : counts) {
    if (count < 0 || count > extent.length) values = -1;
    if (values >= 0) values += count;
  }
  if (values < 0 || kHeaderBytes + values * static_cast<int64_t>(sizeof(float)) != extent.length) {
    return absl::DataLossError(
        absl::StrCat("the client-state spill file holds a damaged record for client ", client));
  }
  int64_t at = kHeaderBytes;
  for (int v = 0; v < kVectors; ++v) {
    vectors[v]->resize(static_cast<size_t>(counts[v]));
    const int64_t size = counts[v] * static_cast<int64_t>(sizeof(float));
    if (staged != nullptr) {
      std::memcpy(vectors[v]->data(), staged + at, static_cast<size_t>(size));
    } else if (absl::Status read = ReadAt(fd_, vectors[v]->data(), size, extent.offset + at);
               !read.ok()) {
      for (std::vector<float>* vector : vectors) std::vector<float>().swap(*vector);
      return read;
    }
    at += size;
  }
  return absl::OkStatus();
}

uint8_t* ClientStateSpill::Staging::Get(int64_t bytes) {
  if (size < bytes) {
    buffer.reset(static_cast<uint8_t*>(std::aligned_alloc(kBlock, static_cast<size_t>(bytes))));
    size = buffer ? bytes : 0;
  }
  return buffer.get();
}

void ClientStateSpill::ReadCohort(std::vector<ClientMemory>& memories) {
  for (size_t i = 0; i < restoring_.size(); ++i) {
    const PendingRead& record = restoring_[i];
    absl::Status read = ReadRecord(record.client, record.extent, memories[record.client]);
    const bool ok = read.ok();
    {
      std::lock_guard<std::mutex> lock(read_mutex_);
      if (ok) {
        read_done_ = i + 1;
      } else {
        read_status_ = std::move(read);
      }
    }
    read_progress_.notify_all();
    if (!ok) return;
  }
}

absl::Status ClientStateSpill::AwaitRestored(uint32_t client) {
  if (budget_bytes_ <= 0 || restoring_slot_[client] < 0) return absl::OkStatus();
  const size_t slot = static_cast<size_t>(restoring_slot_[client]);
  std::unique_lock<std::mutex> lock(read_mutex_);
  if (read_done_ <= slot && read_status_.ok()) {
    const auto start = std::chrono::steady_clock::now();
    read_progress_.wait(lock, [&] { return read_done_ > slot || !read_status_.ok(); });
    read_waited_ += std::chrono::steady_clock::now() - start;
  }
  return read_done_ > slot ? absl::OkStatus() : read_status_;
}

absl::Status ClientStateSpill::FinishReading() {
  if (!reading_.valid()) return absl::OkStatus();
  reading_.get();
  LogDebug("client state: %d read back; the round's clients waited %.3f s for theirs",
           restoring_.size(), std::chrono::duration<double>(read_waited_).count());
  read_waited_ = {};
  for (size_t i = 0; i < restoring_.size(); ++i) {
    const PendingRead& record = restoring_[i];
    restoring_slot_[record.client] = -1;
    if (i < read_done_) {
      free_extents_[record.extent.footprint].push_back(record.extent.offset);
      continue;
    }
    // Not read: the record stays where it is, the client's memory empty.
    spilled_[record.client] = record.extent;
    spilled_bytes_ += record.extent.length;
    resident_bytes_ -= bytes_[record.client];
    bytes_[record.client] = 0;
  }
  restoring_.clear();
  return read_status_;
}

absl::Status ClientStateSpill::ReadSpilled(uint32_t client, ClientMemory& copy) const {
  if (const int32_t slot = pending_slot_[client]; slot >= 0) {
    // Still in memory on its way to the file (the writer only reads it).
    const auto vectors = Vectors(copy);
    for (int v = 0; v < kVectors; ++v) *vectors[v] = pending_[slot].vectors[v];
    return absl::OkStatus();
  }
  return ReadRecord(client, spilled_[client], copy);
}

absl::Status ClientStateSpill::Adopt(uint32_t client, std::vector<ClientMemory>& memories) {
  if (budget_bytes_ <= 0) return absl::OkStatus();
  TRIB_RETURN_IF_ERROR(FinishReading());
  bytes_[client] = StateBytes(memories[client]);
  resident_bytes_ += bytes_[client];
  last_use_[client] = calls_;
  use_order_.emplace_back(client, calls_);
  while (resident_bytes_ > budget_bytes_ && !use_order_.empty()) {
    const auto [oldest, call] = use_order_.front();
    use_order_.pop_front();
    if (last_use_[oldest] != call || bytes_[oldest] == 0) continue;
    TRIB_RETURN_IF_ERROR(QueueSpill(oldest, memories[oldest]));
  }
  StartWriting();
  const absl::Status written = FinishWriting(memories);
  spare_.clear();  // no round to lend them to
  return written;
}

absl::Status ClientStateSpill::PrepareRound(std::span<const uint32_t> cohort,
                                            std::vector<ClientMemory>& memories) {
  if (budget_bytes_ <= 0) return absl::OkStatus();
  const auto start = std::chrono::steady_clock::now();
  const size_t written = pending_.size();
  TRIB_RETURN_IF_ERROR(FinishReading());
  TRIB_RETURN_IF_ERROR(FinishWriting(memories));
  const auto waited = std::chrono::steady_clock::now();
  AccountLastCohort(memories);
  ++calls_;
  int64_t cohort_resident = 0;
  for (uint32_t c : cohort) {
    last_use_[c] = calls_;
    use_order_.emplace_back(c, calls_);
    cohort_resident += bytes_[c];
  }
  while (resident_bytes_ - cohort_resident > budget_bytes_ && !use_order_.empty()) {
    const auto [client, call] = use_order_.front();
    if (call == calls_) break;  // only this round's cohort is left
    use_order_.pop_front();
    if (last_use_[client] != call || bytes_[client] == 0) continue;  // used since, or nothing
    TRIB_RETURN_IF_ERROR(QueueSpill(client, memories[client]));
  }
  // Entries of clients used again since are dropped now and then, so the queue stays bounded.
  if (use_order_.size() > 4 * last_use_.size()) {
    std::erase_if(use_order_,
                  [&](const auto& entry) { return last_use_[entry.first] != entry.second; });
  }
  // The cohort's spilled clients are read back while the round trains, in the cohort's order
  // (the order the workers take them), each into a written residual's buffer where one is left.
  for (uint32_t c : cohort) {
    const Extent extent = spilled_[c];
    if (extent.offset < 0) continue;
    std::vector<float>& residual = memories[c].codec.residual;
    if (!spare_.empty() && residual.capacity() == 0) {
      residual = std::move(spare_.back());
      spare_.pop_back();
    }
    restoring_slot_[c] = static_cast<int32_t>(restoring_.size());
    restoring_.push_back({.client = c, .extent = extent});
    spilled_[c] = {};
    spilled_bytes_ -= extent.length;
    bytes_[c] = extent.length - kHeaderBytes;
    resident_bytes_ += bytes_[c];
  }
  // Clients without a residual yet get a written residual's buffer to fill (error feedback keeps
  // its capacity); what is left over is freed.
  for (uint32_t c : cohort) {
    if (spare_.empty()) break;
    std::vector<float>& residual = memories[c].codec.residual;
    if (!residual.empty() || residual.capacity() > 0) continue;
    residual = std::move(spare_.back());
    spare_.pop_back();
  }
  spare_.clear();
  last_cohort_.assign(cohort.begin(), cohort.end());
  LogDebug(
      "client state: waited %.3f s for the last round's %d writes; reading %d back and "
      "writing %d while the round trains",
      std::chrono::duration<double>(waited - start).count(), written, restoring_.size(),
      pending_.size());
  StartWriting();
  if (!restoring_.empty()) {
    read_done_ = 0;
    read_status_ = absl::OkStatus();
    reading_ = std::async(std::launch::async, [this, &memories] { ReadCohort(memories); });
  }
  return absl::OkStatus();
}

}  // namespace tributary
