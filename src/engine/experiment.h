// ExperimentConfig: everything that defines a federated run, one struct per config section
// ([run], [data], [model], [train], [strategy], [system], [compress], [compute]); the sections
// of techniques ([attack], [privacy], ...) are their own structs, held in `plugins`. Same config
// and seed give the same metrics (wall time aside).
#ifndef TRIBUTARY_ENGINE_EXPERIMENT_H_
#define TRIBUTARY_ENGINE_EXPERIMENT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "aggregate/strategy.h"
#include "common/settings_bag.h"
#include "data/partition.h"
#include "model/model_spec.h"
#include "sim/client_population.h"
#include "sim/system_model.h"
#include "train/train_options.h"

namespace tributary {

// [run]
struct RunOptions {
  std::string name = "experiment";
  uint64_t seed = 0;
  int rounds = 0;
  int clients_per_round = 0;
  int eval_every = 1;  // evaluate the global model every this many rounds (and after the last)
  bool eval_initial = false;  // also evaluate the starting model, reported as round 0
  ClientSampling sampling = ClientSampling::kAuto;  // see ExperimentConfig::ResolvedSampling()
};

// Text corpora (data.dataset = sotu).
struct TextDataOptions {
  int vocab_size = 2048;  // BPE vocabulary of the tokenizer
  int min_year = 0;       // addresses from these years only
  int max_year = 9999;
  std::string cache_dir = ".cache/tributary";  // where trained tokenizers are kept
};

// A user's own files (data.dataset = npz, csv, image_folder or text).
struct FileDataOptions {
  std::string path;       // the training split: a file, or a folder (image_folder, text)
  std::string test_path;  // the test split; empty: a seeded test_fraction of `path` held out
  double test_fraction = 0.1;
  std::string label_column = "label";    // csv: the label column
  std::string client_column = "client";  // csv column, npz array or JSONL field: the owner
  std::string text_field = "text";       // text (JSONL): the document's field
  bool standardize = true;  // features scaled to mean 0, std 1, per feature (training split)
};

// [data]
struct DataOptions {
  std::string dataset = "fashion_mnist";  // one of RegisteredDatasets()
  std::string dir;                        // empty: the dataset's default folder
  TextDataOptions text;
  FileDataOptions files;
  int64_t max_train_examples = 0;  // 0: all; else the first N (for quick runs and tests)
  int64_t max_test_examples = 0;   // 0: all
  PartitionOptions partition;
  double client_holdout = 0.0;  // fraction of each client's examples held out for its own eval
};

// [compress]
struct CompressOptions {
  // Codec pipeline for client -> server updates, e.g. "topk:ratio=0.01|fp16|zstd".
  std::string uplink = "fp32";
  bool error_feedback = false;  // keep what the uplink codec dropped in a per-client residual
  // Codec for the server's broadcast of its model's change; fp32 sends the model as it is.
  std::string downlink = "fp32";
  int downlink_history = 32;  // past public-model versions kept for client catch-ups
};

// [compute]
struct ComputeOptions {
  int workers = 0;             // concurrent client trainings; 0: one per hardware thread
  int threads_per_worker = 0;  // intra-op threads of each worker; 0: 1
  // Workers of their own that evaluate a round's model while the next round trains; 0: the
  // evaluation runs between rounds on the round's workers.
  int eval_threads = 0;
  // simulate: memory for the codec and optimizer state of clients outside the round; past it the
  // least recently trained clients' state goes to a file in spill_dir (empty: the temp folder).
  int64_t client_state_mb = 4096;
  std::string spill_dir;
};

struct ExperimentConfig {
  RunOptions run;
  DataOptions data;
  ModelSpec model;
  TrainOptions train;
  StrategySpec strategy;
  SystemSpec system;  // clients' links, speeds and availability for the virtual clock
  CompressOptions compress;
  ComputeOptions compute;
  // The sections techniques own (engine/technique_registry.cc), by type: e.g.
  // plugins.Get<PrivacySpec>().
  SettingsBag plugins;

  // Checks every field on its own and against the others (e.g. clients_per_round <= clients),
  // then each registered technique's section.
  absl::Status Validate() const;
  // run.sampling, or when it is auto, what the enabled techniques ask for (Poisson for
  // differential privacy), else fixed.
  ClientSampling ResolvedSampling() const;
  // Each client's probability of taking part in a round under Poisson sampling: K / N.
  double SamplingRate() const;
  int ResolvedWorkers() const;
  int ResolvedThreadsPerWorker() const;
};

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_EXPERIMENT_H_
