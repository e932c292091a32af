// FederatedClient: one real client of a deployed run. It registers with the server, receives
// the run's config, loads its own data partition from its local data config (never from the
// server), then loops: wait to be selected, download (catch-up or full model), train, encode
// with the uplink codec (error feedback state kept here), upload. On a lost connection it
// reconnects with exponential backoff and rejoins later rounds; the error-feedback state of an
// upload the server never acknowledged is rolled back, so a retried round encodes the same way.
//
// Thread-safety: Run() from one thread.
#ifndef TRIBUTARY_DEPLOY_FEDERATED_CLIENT_H_
#define TRIBUTARY_DEPLOY_FEDERATED_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/partition.h"
#include "deploy/credentials.h"
#include "engine/client_step.h"
#include "engine/experiment.h"
#include "report/client_progress.h"
#include "train/tensor_dataset.h"

namespace tributary {

struct FederatedClientOptions {
  std::string server_address;  // host:port
  uint32_t client_id = 0;
  std::string token;
  ClientTlsOptions tls;
  double uplink_mbps = 0.0;  // token-bucket link emulation; 0: unlimited
  double downlink_mbps = 0.0;
  double max_backoff_seconds = 10.0;
  double give_up_seconds = 300.0;  // without reaching the server
  // Fault injection for tests of secure aggregation: the client kills itself (SIGKILL) before
  // each protocol stage at which the run's secagg.stage_dropout has the simulator drop it, so a
  // deployed run with real dropouts can be checked against `tributary simulate`.
  bool chaos_secagg_dropout = false;
  // This client's own data: its [data] section and run.seed pick its partition.
  ExperimentConfig data_config;
  // Data loaded once for many clients in one process (`tributary client --client-ids`): when
  // `train` is set the client trains on `examples` of it and loads nothing itself.
  struct SharedData {
    std::shared_ptr<const TensorDataset> train;
    ClientIndices examples;  // this client's partition, as indices into `train`
    ModelSpec shape;         // the model's input shape and classes, from the data
  };
  SharedData shared_data;
  // Parses the run's config from the server's config text (model, training, codecs).
  std::function<absl::StatusOr<ExperimentConfig>(const std::string& server_config_toml)>
      resolve_config;
  // A client with its own train function (the Python client) trains with it instead of the
  // engine; downloads, codecs, error feedback and uploads are unchanged. With
  // declared_examples > 0 it loads no data: it registers that many examples, and the model is
  // the server config's as written (which fits torchscript models, not the data-shaped
  // built-in ones).
  ExternalTrain external_train;
  int64_t declared_examples = 0;
  // Told as the client moves through a round's phases and its transfers progress (chunk by
  // chunk), from Run()'s thread: `tributary client`'s progress line.
  std::function<void(const ClientProgress&)> on_progress;
};

class FederatedClient {
 public:
  explicit FederatedClient(FederatedClientOptions options);
  ~FederatedClient();

  // Returns when the server says the run is over, or with an error that retrying cannot fix
  // (wrong token, bad config, the server unreachable for give_up_seconds).
  absl::Status Run();

  // During a round of an external_train client: the engine's own local training of this round
  // on this client's partition, exactly as a C++ client would run it (same shuffle seed and
  // kept optimizer state). Needs the local data (declared_examples = 0).
  absl::StatusOr<LocalTrainResult> TrainWithEngine(const ModelState& start, ModelState* delta);
  // The model's tensors, once registered.
  absl::StatusOr<std::vector<TensorSpec>> model_layout() const;

  // What happened in each round this client took part in (for logs and benchmarks).
  struct RoundLog {
    int round = 0;
    int64_t download_bytes = 0;
    double download_seconds = 0.0;  // task header to last chunk
    double apply_seconds = 0.0;     // checksum, decode and update of the held model
    double train_seconds = 0.0;
    int64_t upload_bytes = 0;
    double upload_send_seconds = 0.0;  // first message to the last one handed to gRPC
    double upload_seconds = 0.0;       // first message to the server's reply (it decodes and
                                       // aggregates before replying)
  };
  const std::vector<RoundLog>& rounds() const { return rounds_; }

  struct Session;  // what the client keeps across rounds and reconnects (federated_client.cc)

 private:
  FederatedClientOptions options_;
  std::shared_ptr<const TensorDataset> train_data_;
  ClientIndices examples_;
  int64_t registered_examples_ = 0;
  ModelSpec data_shape_;    // the model's input shape and classes, from the local data
  int current_round_ = -1;  // the round being trained, for TrainWithEngine
  std::vector<RoundLog> rounds_;
  std::unique_ptr<Session> session_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_FEDERATED_CLIENT_H_
