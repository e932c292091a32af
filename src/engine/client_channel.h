// ClientChannel: how the round engine reaches its clients. The engine decides who takes part and
// what happens to the model; a channel delivers each selected client its task and download, runs
// or waits for its training, hands every upload that arrives in time to the engine
// (RoundServer::Submit), and says what became of each client. Two channels exist: the
// simulator's virtual clients (run/virtual_clients.h: a worker pool, a system model and a
// virtual clock) and the deployed server's remote clients over gRPC (deploy/coordinator.h).
#ifndef TRIBUTARY_ENGINE_CLIENT_CHANNEL_H_
#define TRIBUTARY_ENGINE_CLIENT_CHANNEL_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compress/pipeline.h"
#include "engine/downlink.h"
#include "tensor/model_state.h"

namespace tributary {

class SecAggRoundServer;

// What a client says about its round's training. Bounded by the engine before any of it is used.
struct ClientReport {
  uint32_t client = 0;
  int round = 0;
  int64_t num_examples = 0;        // its local dataset's size (the FedAvg weight)
  double mean_loss = 0.0;          // over every example it trained on
  double train_seconds = 0.0;      // wall time of its local training
  int64_t examples_processed = 0;  // examples in all the batches trained on (windows, for text)
};

// What a client reports about its training (loss, time, examples processed) is bounded before
// it weighs on anything; RoundServer::Submit refuses an upload whose report fails this.
absl::Status CheckClientReport(const ClientReport& report);

// One client's encoded upload: the model update and what a technique attaches (SCAFFOLD: the
// change of the client's control variate, through the same uplink codec). Both are uplink bytes.
struct ClientUpload {
  ClientReport report;
  Payload update;
  Payload attachment;  // empty unless a technique attaches something

  int64_t bytes() const { return static_cast<int64_t>(update.size() + attachment.size()); }
};

// What became of one selected client in a round.
enum class ClientFate {
  kAccepted,   // its update was aggregated
  kRejected,   // its training or its update failed a check
  kDropped,    // it never connected, or its connection broke (a partial upload is not used)
  kStraggler,  // the round closed before its upload was in
};

struct ClientRecord {
  uint32_t client = 0;
  ClientFate fate = ClientFate::kDropped;
  bool uploaded = false;        // it sent a complete upload (in time or not, accepted or not)
  int64_t bytes_up = 0;         // every byte it sent, complete or not
  ClientReport report;          // when uploaded
  double finish_seconds = 0.0;  // virtual time its upload arrived (simulation)
  std::string error;            // why, when rejected
  // Secure aggregation: its own computation in each stage of the protocol (SecAggStage order).
  std::array<double, 4> protocol_seconds{};
};

struct RoundOutcome {
  std::vector<ClientRecord> records;  // one per selected client, in cohort order
  double virtual_seconds = 0.0;       // the round's length on the virtual clock (simulation)
};

// The engine's side of a round as a channel sees it. Thread-safe: channels call it from their
// worker or RPC threads.
class RoundServer {
 public:
  virtual ~RoundServer() = default;
  // Brings `client` to the current public model (see Downlink) and counts the bytes, with those
  // of the techniques' server state sent along (ServerState()). `held`: the version the client
  // says it holds; nullopt: the one the server last sent it.
  virtual Downlink::Transfer Download(uint32_t client, std::optional<int64_t> held,
                                      bool with_payload) = 0;
  // What the techniques send every client with the model this round (SCAFFOLD's c), or null.
  virtual const ModelState* ServerState() const = 0;
  // The top-k ratio scale of each client of `round`'s cohort (sparsity warm-up), from their
  // uplink bandwidths (bit/s; 0: unknown or not connected).
  virtual std::vector<double> RatioScales(int round, std::span<const double> uplink_bps) const = 0;
  // The L2 bound clients clip their update to this round (differential privacy); 0: none.
  virtual double ClipNorm() const = 0;
  // Validates, decodes and aggregates an upload of the open round. `scratch` is a buffer in the
  // global model's layout the engine may use (a per-worker one saves allocations), or null.
  virtual absl::Status Submit(const ClientUpload& upload, ModelState* scratch) = 0;
  // Secure aggregation (secagg.enabled): the open round's protocol, whose messages the channel
  // carries in place of uploads (Submit is then not used). A client whose masked input it
  // accepted is kAccepted; the engine takes the sum when the round's stages are over. Null
  // otherwise, and for a round too small to run the protocol (every client is then refused).
  virtual SecAggRoundServer* secure_round() { return nullptr; }
};

class ClientChannel {
 public:
  virtual ~ClientChannel() = default;
  // The examples each of `cohort` declared, summed over those that can take part (the
  // strategy's expected total), or nullopt when the run was asked to stop.
  virtual std::optional<int64_t> PrepareRound(int round, std::span<const uint32_t> cohort) = 0;
  // Runs the round prepared last: a record for every client of the cohort.
  virtual absl::StatusOr<RoundOutcome> RunRound(int round, RoundServer& server) = 0;
  // On evaluation rounds: the mean over clients of each one's accuracy on its own held-out
  // examples with the global model (and its own local layers), where the channel can ask every
  // client; nullopt otherwise.
  virtual absl::StatusOr<std::optional<double>> EvaluateClients(const ModelState& global) {
    return std::nullopt;
  }
};

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_CLIENT_CHANNEL_H_
