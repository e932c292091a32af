// ExperimentConfig: everything that defines a simulated federated run. Same config and seed
// give the same metrics (wall time aside).
#ifndef TRIBUTARY_ENGINE_EXPERIMENT_H_
#define TRIBUTARY_ENGINE_EXPERIMENT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "aggregate/strategy.h"
#include "data/fashion_mnist.h"
#include "data/partition.h"
#include "model/model_spec.h"
#include "privacy/privacy_spec.h"
#include "sim/byzantine.h"
#include "sim/client_population.h"
#include "sim/system_model.h"
#include "train/train_options.h"

namespace tributary {

// Text corpora (data.dataset = sotu).
struct TextDataOptions {
  int vocab_size = 2048;  // BPE vocabulary of the tokenizer
  int min_year = 0;       // addresses from these years only
  int max_year = 9999;
  std::string cache_dir = ".cache/tributary";  // where trained tokenizers are kept
};

struct ExperimentConfig {
  std::string name = "experiment";
  uint64_t seed = 0;
  int rounds = 0;
  int clients_per_round = 0;
  int eval_every = 1;  // evaluate the global model every this many rounds (and after the last)
  bool eval_initial = false;  // also evaluate the starting model, reported as round 0
  ClientSampling sampling = ClientSampling::kAuto;  // see ResolvedSampling()

  std::string dataset = "fashion_mnist";  // or "sotu" (language modelling, model "gpt")
  std::string data_dir;                   // empty: the dataset's default folder
  TextDataOptions text;
  int64_t max_train_examples = 0;  // 0: all; else the first N (for quick runs and tests)
  int64_t max_test_examples = 0;   // 0: all
  PartitionOptions partition;
  double client_holdout = 0.0;  // fraction of each client's examples held out for its own eval

  ModelSpec model;
  // Checkpoint the global model starts from (e.g. a pre-trained model to fine-tune); every party
  // loads it locally, as the initial model. Empty: initialized from the seed.
  std::string model_init;
  // HeteroFL: this fraction of the clients trains a slice of width small_width.
  double small_fraction = 0.0;
  double small_width = 0.5;
  TrainOptions train;
  StrategySpec strategy;
  std::string local_layers;  // comma-separated tensor name prefixes kept on each client
  AttackSpec attack;         // Byzantine clients (none by default)
  SystemSpec system;         // clients' links, speeds and availability for the virtual clock
  PrivacySpec privacy;       // client-level differential privacy (off by default)

  // Codec pipeline for client -> server updates, e.g. "topk:ratio=0.01|fp16|zstd".
  std::string uplink_codec = "fp32";
  bool uplink_error_feedback = false;  // keep what the codec dropped in a per-client residual
  // Bandwidth-aware compression (BCRS-style): each client's top-k count is scaled by its uplink
  // bandwidth over the mean of the round's clients, so uploads take about the same time while
  // the round's mean ratio stays the configured one.
  bool bandwidth_aware = false;
  // Codec for the server's broadcast of its model's change; fp32 sends the model as it is.
  std::string downlink_codec = "fp32";
  int downlink_history = 32;  // past public-model versions kept for client catch-ups

  int workers = 0;             // concurrent client trainings; 0: one per hardware thread
  int threads_per_worker = 0;  // intra-op threads of each worker; 0: 1

  // Checks every field on its own and against the others (e.g. clients_per_round <= clients).
  absl::Status Validate() const;
  // Poisson when privacy is on and run.sampling is auto; else what run.sampling says.
  ClientSampling ResolvedSampling() const;
  // Each client's probability of taking part in a round under Poisson sampling: K / N.
  double SamplingRate() const;
  int ResolvedWorkers() const;
  int ResolvedThreadsPerWorker() const;
};

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_EXPERIMENT_H_
