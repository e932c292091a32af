#include "run/client_state_spill.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
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
constexpr int kVectors = 4;
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
  }
}

ClientStateSpill::~ClientStateSpill() {
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

absl::Status ClientStateSpill::Spill(uint32_t client, ClientMemory& memory) {
  if (fd_ < 0) TRIB_RETURN_IF_ERROR(OpenFile());
  const auto vectors = Vectors(memory);
  std::array<int64_t, kVectors> counts;
  for (int v = 0; v < kVectors; ++v) counts[v] = static_cast<int64_t>(vectors[v]->size());
  const int64_t length = kHeaderBytes + bytes_[client];
  // Direct I/O moves whole blocks: the record is padded to them.
  const int64_t footprint = direct_ ? RoundUpToBlock(length) : length;
  const int64_t offset = AllocateExtent(footprint);
  absl::Status written;
  if (direct_) {
    uint8_t* staging = Staging(footprint);
    if (staging == nullptr) return absl::ResourceExhaustedError("no memory for the spill buffer");
    std::memcpy(staging, counts.data(), kHeaderBytes);
    int64_t at = kHeaderBytes;
    for (const std::vector<float>* vector : vectors) {
      std::memcpy(staging + at, vector->data(), vector->size() * sizeof(float));
      at += static_cast<int64_t>(vector->size() * sizeof(float));
    }
    std::memset(staging + at, 0, static_cast<size_t>(footprint - at));
    written = WriteAt(fd_, staging, footprint, offset);
    if (!written.ok() && errno == EINVAL) {
      // A file system that opened the file for direct I/O but refuses it: buffered from now on.
      const int flags = fcntl(fd_, F_GETFL);
      if (flags >= 0 && fcntl(fd_, F_SETFL, flags & ~O_DIRECT) == 0) {
        direct_ = false;
        written = WriteAt(fd_, staging, footprint, offset);
      }
    }
  } else {
    written = WriteAt(fd_, counts.data(), kHeaderBytes, offset);
    int64_t at = offset + kHeaderBytes;
    for (int v = 0; v < kVectors && written.ok(); ++v) {
      const int64_t size = counts[v] * static_cast<int64_t>(sizeof(float));
      written = WriteAt(fd_, vectors[v]->data(), size, at);
      at += size;
    }
  }
  if (!written.ok()) {
    free_extents_[footprint].push_back(offset);
    return written;
  }
  // The residual's buffer goes to a client of the coming round, whose residual then needs no
  // fresh pages (faulting them in is slow on this VM); the rest is freed.
  spare_.push_back(std::move(memory.codec.residual));
  spare_.back().clear();
  for (std::vector<float>* vector : vectors) std::vector<float>().swap(*vector);
  spilled_[client] = {.offset = offset, .length = length, .footprint = footprint};
  spilled_bytes_ += length;
  resident_bytes_ -= bytes_[client];
  bytes_[client] = 0;
  return absl::OkStatus();
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
    uint8_t* staging = Staging(extent.footprint);
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

uint8_t* ClientStateSpill::Staging(int64_t bytes) const {
  if (staging_size_ < bytes) {
    staging_.reset(static_cast<uint8_t*>(std::aligned_alloc(kBlock, static_cast<size_t>(bytes))));
    staging_size_ = staging_ ? bytes : 0;
  }
  return staging_.get();
}

absl::Status ClientStateSpill::Restore(uint32_t client, ClientMemory& memory) {
  const Extent extent = spilled_[client];
  if (!spare_.empty() && memory.codec.residual.capacity() == 0) {
    memory.codec.residual = std::move(spare_.back());
    spare_.pop_back();
  }
  TRIB_RETURN_IF_ERROR(ReadRecord(client, extent, memory));
  free_extents_[extent.footprint].push_back(extent.offset);
  spilled_[client] = {};
  spilled_bytes_ -= extent.length;
  bytes_[client] = StateBytes(memory);
  resident_bytes_ += bytes_[client];
  return absl::OkStatus();
}

absl::Status ClientStateSpill::ReadSpilled(uint32_t client, ClientMemory& copy) const {
  return ReadRecord(client, spilled_[client], copy);
}

absl::Status ClientStateSpill::Adopt(uint32_t client, std::vector<ClientMemory>& memories) {
  if (budget_bytes_ <= 0) return absl::OkStatus();
  bytes_[client] = StateBytes(memories[client]);
  resident_bytes_ += bytes_[client];
  last_use_[client] = calls_;
  use_order_.emplace_back(client, calls_);
  while (resident_bytes_ > budget_bytes_ && !use_order_.empty()) {
    const auto [oldest, call] = use_order_.front();
    use_order_.pop_front();
    if (last_use_[oldest] != call || bytes_[oldest] == 0) continue;
    TRIB_RETURN_IF_ERROR(Spill(oldest, memories[oldest]));
  }
  spare_.clear();  // no round to lend them to
  return absl::OkStatus();
}

absl::Status ClientStateSpill::PrepareRound(std::span<const uint32_t> cohort,
                                            std::vector<ClientMemory>& memories) {
  if (budget_bytes_ <= 0) return absl::OkStatus();
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
    TRIB_RETURN_IF_ERROR(Spill(client, memories[client]));
  }
  // Entries of clients used again since are dropped now and then, so the queue stays bounded.
  if (use_order_.size() > 4 * last_use_.size()) {
    std::erase_if(use_order_,
                  [&](const auto& entry) { return last_use_[entry.first] != entry.second; });
  }
  for (uint32_t c : cohort) {
    if (spilled_[c].offset >= 0) TRIB_RETURN_IF_ERROR(Restore(c, memories[c]));
  }
  // Clients without a residual yet get a spilled client's buffer to fill (error feedback keeps
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
  return absl::OkStatus();
}

}  // namespace tributary
