#include "engine/experiment_fields.h"

#include <algorithm>
#include <limits>

#include "aggregate/strategy_registry.h"
#include "engine/technique_registry.h"

namespace tributary {
namespace {

using C = ExperimentConfig;
constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

// The keys of the sections ExperimentConfig holds itself, in help order.
std::vector<ExperimentField> CoreFields() {
  return {
      StringField<C>("run.name", "name of the run; the default output folder is runs/<name>",
                     [](C& c) -> std::string& { return c.run.name; }),
      IntegerField<C>(
          "run.seed", "seed of every random choice (partition, sampling, init)",
          [](C& c) -> uint64_t& { return c.run.seed; }, 0, kMaxInt64),
      IntegerField<C>(
          "run.rounds", "number of federated rounds", [](C& c) -> int& { return c.run.rounds; }, 1,
          1000000, /*required=*/true),
      IntegerField<C>(
          "run.clients_per_round", "K: clients sampled each round (<= data.num_clients)",
          [](C& c) -> int& { return c.run.clients_per_round; }, 1, 1000000, /*required=*/true),
      IntegerField<C>(
          "run.eval_every", "evaluate on the test set every R rounds (and the last)",
          [](C& c) -> int& { return c.run.eval_every; }, 1, 1000000),
      BoolField<C>("run.eval_initial", "also evaluate the starting model (metrics round 0)",
                   [](C& c) -> bool& { return c.run.eval_initial; }),
      EnumField<C>(
          "run.sampling",
          "cohort: fixed (K clients) or poisson (each client with q = K / N); auto: poisson "
          "when privacy is on",
          [](C& c) -> ClientSampling& { return c.run.sampling; }, ParseClientSampling,
          ClientSamplingName),
      StringField<C>(
          "data.dataset",
          "dataset: fashion_mnist, sotu (State of the Union text), npz, csv, image_folder, text "
          "(your files: data.path), or synthetic_images (generated, "
          "data.max_train_examples of them; 0: 60,000)",
          [](C& c) -> std::string& { return c.data.dataset; }),
      StringField<C>("data.dir",
                     "folder with the dataset's files (empty: its default); Fashion-MNIST's "
                     "gzip files are inflated once into a per-user cache, checked against their "
                     "CRC on every use ($TRIBUTARY_CACHE_DIR, else ~/.cache/tributary; "
                     "TRIBUTARY_CACHE_DIR=off reads the gzip files every time); a deployed "
                     "client then reads its images from that copy batch by batch instead of "
                     "holding them",
                     [](C& c) -> std::string& { return c.data.dir; }),
      IntegerField<C>(
          "data.vocab_size", "sotu: BPE vocabulary size of the tokenizer",
          [](C& c) -> int& { return c.data.text.vocab_size; }, 64, 1000000),
      IntegerField<C>(
          "data.min_year", "sotu: first year of the addresses used",
          [](C& c) -> int& { return c.data.text.min_year; }, 0, 9999),
      IntegerField<C>(
          "data.max_year", "sotu: last year of the addresses used",
          [](C& c) -> int& { return c.data.text.max_year; }, 0, 9999),
      StringField<C>("data.cache_dir", "sotu: folder where trained tokenizers are cached",
                     [](C& c) -> std::string& { return c.data.text.cache_dir; }),
      EnumField<C>(
          "data.partition",
          "how examples are split among clients: iid, dirichlet, shards or natural (sotu: by "
          "president)",
          [](C& c) -> PartitionScheme& { return c.data.partition.scheme; }, ParsePartitionScheme,
          PartitionSchemeName, /*required=*/true),
      IntegerField<C>(
          "data.num_clients", "N: number of clients",
          [](C& c) -> int& { return c.data.partition.num_clients; }, 1, 10000000,
          /*required=*/true),
      FloatField<C>("data.client_holdout",
                    "fraction of each client's examples kept for its own evaluation (0: none)",
                    [](C& c) -> double& { return c.data.client_holdout; }),
      FloatField<C>("data.alpha",
                    "Dirichlet concentration (partition = dirichlet); smaller is more skewed",
                    [](C& c) -> double& { return c.data.partition.alpha; }),
      IntegerField<C>(
          "data.shards_per_client", "classes per client (partition = shards)",
          [](C& c) -> int& { return c.data.partition.shards_per_client; }, 1, 1000),
      StringField<C>("data.path",
                     "npz, csv, image_folder, text: the training data (file or folder)",
                     [](C& c) -> std::string& { return c.data.files.path; }),
      StringField<C>("data.test_path",
                     "npz, csv, image_folder, text: the test data (empty: hold out test_fraction)",
                     [](C& c) -> std::string& { return c.data.files.test_path; }),
      FloatField<C>("data.test_fraction",
                    "share of data.path held out for testing when there is no test data",
                    [](C& c) -> double& { return c.data.files.test_fraction; }),
      StringField<C>("data.label_column", "csv: the label column",
                     [](C& c) -> std::string& { return c.data.files.label_column; }),
      StringField<C>("data.client_column",
                     "csv column, npz array or JSONL field naming each example's owner "
                     "(partition = natural)",
                     [](C& c) -> std::string& { return c.data.files.client_column; }),
      StringField<C>("data.text_field", "text (JSONL): the field holding the document",
                     [](C& c) -> std::string& { return c.data.files.text_field; }),
      BoolField<C>("data.standardize",
                   "npz, csv, image_folder: scale each feature to mean 0, std 1 (training split)",
                   [](C& c) -> bool& { return c.data.files.standardize; }),
      IntegerField<C>(
          "data.max_train_examples", "use only the first N training examples (0: all)",
          [](C& c) -> int64_t& { return c.data.max_train_examples; }, 0, kMaxInt64),
      IntegerField<C>(
          "data.max_test_examples", "use only the first N test examples (0: all)",
          [](C& c) -> int64_t& { return c.data.max_test_examples; }, 0, kMaxInt64),
      StringField<C>(
          "model.name", "model: mlp, cnn, gpt or torchscript (model.path)",
          [](C& c) -> std::string& { return c.model.name; },
          /*required=*/true),
      IntegerField<C>(
          "model.layers", "gpt: transformer blocks", [](C& c) -> int& { return c.model.layers; }, 1,
          256),
      IntegerField<C>(
          "model.heads", "gpt: attention heads", [](C& c) -> int& { return c.model.heads; }, 1,
          1024),
      IntegerField<C>(
          "model.embed", "gpt: embedding width", [](C& c) -> int& { return c.model.embed; }, 1,
          65536),
      IntegerField<C>(
          "model.context", "gpt: tokens per training window",
          [](C& c) -> int64_t& { return c.model.context; }, 1, 65536),
      IntegerField<C>(
          "model.lora_rank", "gpt: LoRA rank; > 0 trains only adapters over model.base",
          [](C& c) -> int& { return c.model.lora_rank; }, 0, 65536),
      FloatField<C>("model.lora_alpha", "gpt: LoRA scale numerator (adapters scaled alpha / rank)",
                    [](C& c) -> double& { return c.model.lora_alpha; }),
      BoolField<C>("model.lora_train_a",
                   "gpt: train LoRA's A (false: FFA-LoRA, A frozen, only B trained and sent)",
                   [](C& c) -> bool& { return c.model.lora_train_a; }),
      StringField<C>("model.init",
                     "checkpoint (model.pt) the global model starts from (empty: seeded init)",
                     [](C& c) -> std::string& { return c.model.init; }),
      StringField<C>("model.path",
                     "torchscript: module file saved with torch.jit.script(m).save(path)",
                     [](C& c) -> std::string& { return c.model.path; }),
      StringField<C>("model.buffers",
                     "torchscript: float buffers (batch-norm statistics) are averaged with the "
                     "model (aggregate) or kept on each client (local)",
                     [](C& c) -> std::string& { return c.model.buffers; }),
      StringField<C>("model.base",
                     "gpt with LoRA, or model.seed_pool: checkpoint (model.pt) of the frozen model",
                     [](C& c) -> std::string& { return c.model.base; }),
      IntegerField<C>(
          "model.seed_pool",
          "K > 0: zeroth-order fine-tuning in K seeded directions over model.base (FedKSeed); "
          "the model's state is K coefficients, trained with train.optimizer = zo_sgd",
          [](C& c) -> int& { return c.model.seed_pool; }, 0, 1 << 20),
      IntegerField<C>(
          "model.seed_pool_seed", "the seed the pool's directions are drawn from (every party's)",
          [](C& c) -> uint64_t& { return c.model.seed_pool_seed; }, 0, kMaxInt64),
      IntegerField<C>(
          "model.hidden", "width of the hidden fully connected layer(s)",
          [](C& c) -> int& { return c.model.hidden; }, 1, 65536),
      EnumField<C>(
          "train.optimizer",
          "local optimizer: sgd, adamw, or zo_sgd (zeroth-order, two forward passes per step "
          "along a seed drawn uniformly from model.seed_pool; no momentum)",
          [](C& c) -> OptimizerKind& { return c.train.optimizer; }, ParseOptimizerKind,
          OptimizerKindName),
      FloatField<C>("train.lr", "local learning rate",
                    [](C& c) -> double& { return c.train.learning_rate; }),
      FloatField<C>("train.momentum", "SGD momentum",
                    [](C& c) -> double& { return c.train.momentum; }),
      FloatField<C>("train.weight_decay", "weight decay (decoupled for adamw)",
                    [](C& c) -> double& { return c.train.weight_decay; }),
      FloatField<C>("train.beta1", "AdamW beta1", [](C& c) -> double& { return c.train.beta1; }),
      FloatField<C>("train.beta2", "AdamW beta2", [](C& c) -> double& { return c.train.beta2; }),
      IntegerField<C>(
          "train.batch_size", "local mini-batch size",
          [](C& c) -> int& { return c.train.batch_size; }, 1, 1000000),
      IntegerField<C>(
          "train.epochs", "local passes over the client's data per round",
          [](C& c) -> int& { return c.train.epochs; }, 0, 100000),
      IntegerField<C>(
          "train.steps", "local mini-batch steps per round; overrides epochs when > 0",
          [](C& c) -> int& { return c.train.steps; }, 0, 100000000),
      FloatField<C>("train.zo_eps",
                    "zo_sgd: perturbation scale of the two-sided difference along a direction",
                    [](C& c) -> double& { return c.train.zo_eps; }),
      FloatField<C>("train.clip_norm", "clip each step's gradient to this L2 norm (0: off)",
                    [](C& c) -> double& { return c.train.clip_norm; }),
      IntegerField<C>(
          "train.warmup_steps", "linear learning-rate warmup over a client's first N steps",
          [](C& c) -> int& { return c.train.warmup_steps; }, 0, 100000000),
      IntegerField<C>(
          "train.decay_steps",
          "cosine learning-rate decay from the end of the warmup to train.min_lr_ratio of the "
          "peak at a client's step N (counted across rounds when the optimizer state is kept; "
          "0: none)",
          [](C& c) -> int& { return c.train.decay_steps; }, 0, 100000000),
      FloatField<C>("train.min_lr_ratio", "floor of train.decay_steps' cosine, times the peak",
                    [](C& c) -> double& { return c.train.min_lr_ratio; }),
      BoolField<C>("train.keep_optimizer_state",
                   "keep each client's optimizer moments from round to round (DiLoCo, Photon)",
                   [](C& c) -> bool& { return c.train.keep_optimizer_state; }),
      StringField<C>("system.profile",
                     "client links and speeds: uniform datacenter edge mobile trace",
                     [](C& c) -> std::string& { return c.system.profile; }),
      StringField<C>("system.trace",
                     "CSV client,downlink_mbps,uplink_mbps,latency_ms,speed (profile = trace)",
                     [](C& c) -> std::string& { return c.system.trace_path; }),
      FloatField<C>("system.seconds_per_example", "virtual training cost per example at speed 1",
                    [](C& c) -> double& { return c.system.seconds_per_example; }),
      FloatField<C>("system.deadline",
                    "virtual seconds per round; later clients are dropped (0: none)",
                    [](C& c) -> double& { return c.system.deadline_seconds; }),
      FloatField<C>("system.dropout", "probability a sampled client drops out of a round",
                    [](C& c) -> double& { return c.system.dropout; }),
      FloatField<C>("system.crash_upload", "probability a sampled client crashes mid-upload",
                    [](C& c) -> double& { return c.system.crash_upload; }),
      StringField<C>("compress.uplink",
                     "codec pipeline for client updates, e.g. topk:ratio=0.01|fp16|zstd; qsgd "
                     "defaults to the paper's l2 buckets of 512 (norm=max,bucket=0: one max-norm "
                     "scale), terngrad to 2.5-sigma clipping and per-tensor scales; under error "
                     "feedback stochastic stages send C(x)/(1+w); a last stage arith instead of "
                     "zstd codes indices and qsgd/grid/fp values with adaptive arithmetic coding "
                     "(docs/compression.md)",
                     [](C& c) -> std::string& { return c.compress.uplink; }),
      StringField<C>(
          "compress.downlink",
          "codec for the server's model change; clients always hold the public model exactly. "
          "With grid:exp=E values (e.g. topk:ratio=0.002|grid:exp=8|zstd) the run starts from "
          "the initial model snapped to multiples of 2^-E and a returning client gets one merged "
          "difference instead of every increment it missed (docs/compression.md)",
          [](C& c) -> std::string& { return c.compress.downlink; }),
      IntegerField<C>(
          "compress.downlink_history",
          "model versions (and the downlink codec's increments) kept for catch-ups; older clients "
          "catch up from the seeded initial model or get the full model",
          [](C& c) -> int& { return c.compress.downlink_history; }, 1, 10000),
      BoolField<C>("compress.error_feedback",
                   "keep what the uplink codec dropped for the next round",
                   [](C& c) -> bool& { return c.compress.error_feedback; }),
      IntegerField<C>(
          "compute.workers", "clients trained concurrently (0: one per core)",
          [](C& c) -> int& { return c.compute.workers; }, 0, 1024),
      IntegerField<C>(
          "compute.threads_per_worker",
          "intra-op threads of each worker (0: 1; raise for large models and few clients)",
          [](C& c) -> int& { return c.compute.threads_per_worker; }, 0, 1024),
      IntegerField<C>(
          "compute.eval_threads",
          "workers of its own that evaluate each round's model on the test set while the next "
          "round trains (results still reported in round order; eval_seconds then is not part "
          "of wall_seconds); 0: evaluate between rounds on the round's workers",
          [](C& c) -> int& { return c.compute.eval_threads; }, 0, 1024),
      IntegerField<C>(
          "compute.client_state_mb",
          "simulate: MiB of error-feedback residuals, PowerSGD factors and kept optimizer state "
          "held for clients outside the round; past it the least recently trained clients' state "
          "is spilled to a file and read back exactly when they return, both while the round "
          "trains (up to one round's spilled state is held above the limit until written; 0: no "
          "limit)",
          [](C& c) -> int64_t& { return c.compute.client_state_mb; }, 0, kMaxInt64 >> 20),
      StringField<C>("compute.spill_dir",
                     "simulate: folder of the client-state spill file (empty: the temp folder)",
                     [](C& c) -> std::string& { return c.compute.spill_dir; }),
  };
}

// Help order of the sections; a section none of these names goes after them.
constexpr std::string_view kSectionOrder[] = {"run",      "data",     "model",  "train",
                                              "strategy", "attack",   "system", "privacy",
                                              "secagg",   "compress", "compute"};

size_t SectionRank(const std::string& key) {
  const std::string_view section = std::string_view(key).substr(0, key.find('.'));
  const auto* it = std::find(std::begin(kSectionOrder), std::end(kSectionOrder), section);
  return static_cast<size_t>(it - std::begin(kSectionOrder));
}

}  // namespace

const std::vector<ExperimentField>& ExperimentFields() {
  static const std::vector<ExperimentField> fields = [] {
    std::vector<ExperimentField> all = CoreFields();
    for (const ConfigField<StrategySpec>& f : StrategyConfigFields()) {
      all.push_back(Rebind<ExperimentConfig>(f, [](C& c) -> StrategySpec& { return c.strategy; }));
    }
    for (ExperimentField& f : TechniqueConfigFields()) all.push_back(std::move(f));
    std::stable_sort(all.begin(), all.end(),
                     [](const ExperimentField& a, const ExperimentField& b) {
                       return SectionRank(a.key) < SectionRank(b.key);
                     });
    return all;
  }();
  return fields;
}

const ExperimentField* FindExperimentField(std::string_view key) {
  for (const ExperimentField& f : ExperimentFields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

}  // namespace tributary
