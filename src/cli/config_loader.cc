#include "cli/config_loader.h"

#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/status_util.h"

namespace tributary {
namespace {

// One config key: how to read it from TOML into the config and write it back.
struct Field {
  std::string key;  // "section.name"
  std::string type;
  std::string help;
  bool required = false;
  std::function<absl::Status(const toml::node&, ExperimentConfig&)> read;
  std::function<std::unique_ptr<toml::node>(const ExperimentConfig&)> write;
};

absl::Status TypeError(const std::string& key, const std::string& expected, const toml::node& n) {
  std::ostringstream found;
  found << n.type();
  return absl::InvalidArgumentError(
      absl::StrCat("config key '", key, "' must be ", expected, ", found ", found.str()));
}

template <typename T>
Field IntegerField(std::string key, std::string help, bool required,
                   std::function<T&(ExperimentConfig&)> get, int64_t min = 0,
                   int64_t max = std::numeric_limits<int32_t>::max()) {
  Field f;
  f.key = key;
  f.type = "integer";
  f.help = std::move(help);
  f.required = required;
  f.read = [key, get, min, max](const toml::node& n, ExperimentConfig& c) -> absl::Status {
    const toml::value<int64_t>* v = n.as_integer();
    if (v == nullptr) return TypeError(key, "an integer", n);
    if (v->get() < min || v->get() > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("config key '", key, "' must be in [", min, ", ", max, "], got ", v->get()));
    }
    get(c) = static_cast<T>(v->get());
    return absl::OkStatus();
  };
  f.write = [get](const ExperimentConfig& c) {
    return std::unique_ptr<toml::node>(
        new toml::value<int64_t>(static_cast<int64_t>(get(const_cast<ExperimentConfig&>(c)))));
  };
  return f;
}

Field DoubleField(std::string key, std::string help,
                  std::function<double&(ExperimentConfig&)> get) {
  Field f;
  f.key = key;
  f.type = "float";
  f.help = std::move(help);
  f.required = false;
  f.read = [key, get](const toml::node& n, ExperimentConfig& c) -> absl::Status {
    if (const auto* i = n.as_integer()) {
      get(c) = static_cast<double>(i->get());
    } else if (const auto* d = n.as_floating_point()) {
      get(c) = d->get();
    } else {
      return TypeError(key, "a number", n);
    }
    return absl::OkStatus();
  };
  f.write = [get](const ExperimentConfig& c) {
    return std::unique_ptr<toml::node>(
        new toml::value<double>(get(const_cast<ExperimentConfig&>(c))));
  };
  return f;
}

Field BoolField(std::string key, std::string help, std::function<bool&(ExperimentConfig&)> get) {
  Field f;
  f.key = key;
  f.type = "bool";
  f.help = std::move(help);
  f.read = [key, get](const toml::node& n, ExperimentConfig& c) -> absl::Status {
    const toml::value<bool>* v = n.as_boolean();
    if (v == nullptr) return TypeError(key, "true or false", n);
    get(c) = v->get();
    return absl::OkStatus();
  };
  f.write = [get](const ExperimentConfig& c) {
    return std::unique_ptr<toml::node>(
        new toml::value<bool>(get(const_cast<ExperimentConfig&>(c))));
  };
  return f;
}

// A string field; `parse` checks and stores it, `format` gives its current value.
Field StringField(std::string key, std::string help, bool required,
                  std::function<absl::Status(const std::string&, ExperimentConfig&)> parse,
                  std::function<std::string(const ExperimentConfig&)> format) {
  Field f;
  f.key = key;
  f.type = "string";
  f.help = std::move(help);
  f.required = required;
  f.read = [key, parse](const toml::node& n, ExperimentConfig& c) -> absl::Status {
    const toml::value<std::string>* v = n.as_string();
    if (v == nullptr) return TypeError(key, "a string", n);
    absl::Status status = parse(v->get(), c);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("config key '", key, "': ", status.message()));
    }
    return absl::OkStatus();
  };
  f.write = [format](const ExperimentConfig& c) {
    return std::unique_ptr<toml::node>(new toml::value<std::string>(format(c)));
  };
  return f;
}

Field PlainStringField(std::string key, std::string help, bool required,
                       std::function<std::string&(ExperimentConfig&)> get) {
  return StringField(
      std::move(key), std::move(help), required,
      [get](const std::string& v, ExperimentConfig& c) {
        get(c) = v;
        return absl::OkStatus();
      },
      [get](const ExperimentConfig& c) { return get(const_cast<ExperimentConfig&>(c)); });
}

const std::vector<Field>& Fields() {
  using C = ExperimentConfig;
  static const std::vector<Field> fields = {
      PlainStringField("run.name", "name of the run; the default output folder is runs/<name>",
                       false, [](C& c) -> std::string& { return c.name; }),
      IntegerField<uint64_t>(
          "run.seed", "seed of every random choice (partition, sampling, init)", false,
          [](C& c) -> uint64_t& { return c.seed; }, 0, std::numeric_limits<int64_t>::max()),
      IntegerField<int>(
          "run.rounds", "number of federated rounds", true, [](C& c) -> int& { return c.rounds; },
          1, 1000000),
      IntegerField<int>(
          "run.clients_per_round", "K: clients sampled each round (<= data.num_clients)", true,
          [](C& c) -> int& { return c.clients_per_round; }, 1, 1000000),
      IntegerField<int>(
          "run.eval_every", "evaluate on the test set every R rounds (and the last)", false,
          [](C& c) -> int& { return c.eval_every; }, 1, 1000000),
      BoolField("run.eval_initial", "also evaluate the starting model (metrics round 0)",
                [](C& c) -> bool& { return c.eval_initial; }),
      StringField(
          "run.sampling",
          "cohort: fixed (K clients) or poisson (each client with q = K / N); auto: poisson "
          "when privacy is on",
          false,
          [](const std::string& v, C& c) -> absl::Status {
            TRIB_ASSIGN_OR_RETURN(c.sampling, ParseClientSampling(v));
            return absl::OkStatus();
          },
          [](const C& c) { return std::string(ClientSamplingName(c.sampling)); }),
      PlainStringField("data.dataset", "dataset: fashion_mnist or sotu (State of the Union text)",
                       false, [](C& c) -> std::string& { return c.dataset; }),
      PlainStringField("data.dir", "folder with the dataset's files (empty: its default)", false,
                       [](C& c) -> std::string& { return c.data_dir; }),
      IntegerField<int>(
          "data.vocab_size", "sotu: BPE vocabulary size of the tokenizer", false,
          [](C& c) -> int& { return c.text.vocab_size; }, 64, 1000000),
      IntegerField<int>(
          "data.min_year", "sotu: first year of the addresses used", false,
          [](C& c) -> int& { return c.text.min_year; }, 0, 9999),
      IntegerField<int>(
          "data.max_year", "sotu: last year of the addresses used", false,
          [](C& c) -> int& { return c.text.max_year; }, 0, 9999),
      PlainStringField("data.cache_dir", "sotu: folder where trained tokenizers are cached", false,
                       [](C& c) -> std::string& { return c.text.cache_dir; }),
      StringField(
          "data.partition",
          "how examples are split among clients: iid, dirichlet, shards or natural (sotu: by "
          "president)",
          true,
          [](const std::string& v, C& c) -> absl::Status {
            TRIB_ASSIGN_OR_RETURN(c.partition.scheme, ParsePartitionScheme(v));
            return absl::OkStatus();
          },
          [](const C& c) { return std::string(PartitionSchemeName(c.partition.scheme)); }),
      IntegerField<int>(
          "data.num_clients", "N: number of clients", true,
          [](C& c) -> int& { return c.partition.num_clients; }, 1, 10000000),
      DoubleField("data.client_holdout",
                  "fraction of each client's examples kept for its own evaluation (0: none)",
                  [](C& c) -> double& { return c.client_holdout; }),
      DoubleField("data.alpha",
                  "Dirichlet concentration (partition = dirichlet); smaller is more skewed",
                  [](C& c) -> double& { return c.partition.alpha; }),
      IntegerField<int>(
          "data.shards_per_client", "classes per client (partition = shards)", false,
          [](C& c) -> int& { return c.partition.shards_per_client; }, 1, 1000),
      IntegerField<int64_t>(
          "data.max_train_examples", "use only the first N training examples (0: all)", false,
          [](C& c) -> int64_t& { return c.max_train_examples; }, 0,
          std::numeric_limits<int64_t>::max()),
      IntegerField<int64_t>(
          "data.max_test_examples", "use only the first N test examples (0: all)", false,
          [](C& c) -> int64_t& { return c.max_test_examples; }, 0,
          std::numeric_limits<int64_t>::max()),
      PlainStringField("model.name", "model: mlp, cnn or gpt", true,
                       [](C& c) -> std::string& { return c.model.name; }),
      IntegerField<int>(
          "model.layers", "gpt: transformer blocks", false,
          [](C& c) -> int& { return c.model.layers; }, 1, 256),
      IntegerField<int>(
          "model.heads", "gpt: attention heads", false, [](C& c) -> int& { return c.model.heads; },
          1, 1024),
      IntegerField<int>(
          "model.embed", "gpt: embedding width", false, [](C& c) -> int& { return c.model.embed; },
          1, 65536),
      IntegerField<int64_t>(
          "model.context", "gpt: tokens per training window", false,
          [](C& c) -> int64_t& { return c.model.context; }, 1, 65536),
      IntegerField<int>(
          "model.lora_rank", "gpt: LoRA rank; > 0 trains only adapters over model.base", false,
          [](C& c) -> int& { return c.model.lora_rank; }, 0, 65536),
      DoubleField("model.lora_alpha", "gpt: LoRA scale numerator (adapters scaled alpha / rank)",
                  [](C& c) -> double& { return c.model.lora_alpha; }),
      BoolField("model.lora_train_a",
                "gpt: train LoRA's A (false: FFA-LoRA, A frozen, only B trained and sent)",
                [](C& c) -> bool& { return c.model.lora_train_a; }),
      PlainStringField("model.init",
                       "checkpoint (model.pt) the global model starts from (empty: seeded init)",
                       false, [](C& c) -> std::string& { return c.model_init; }),
      PlainStringField("model.base", "gpt with LoRA: checkpoint (model.pt) of the frozen model",
                       false, [](C& c) -> std::string& { return c.model.base; }),
      IntegerField<int>(
          "model.hidden", "width of the hidden fully connected layer(s)", false,
          [](C& c) -> int& { return c.model.hidden; }, 1, 65536),
      StringField(
          "train.optimizer", "local optimizer: sgd or adamw", false,
          [](const std::string& v, C& c) -> absl::Status {
            TRIB_ASSIGN_OR_RETURN(c.train.optimizer, ParseOptimizerKind(v));
            return absl::OkStatus();
          },
          [](const C& c) { return std::string(OptimizerKindName(c.train.optimizer)); }),
      DoubleField("train.lr", "local learning rate",
                  [](C& c) -> double& { return c.train.learning_rate; }),
      DoubleField("train.momentum", "SGD momentum",
                  [](C& c) -> double& { return c.train.momentum; }),
      DoubleField("train.weight_decay", "weight decay (decoupled for adamw)",
                  [](C& c) -> double& { return c.train.weight_decay; }),
      DoubleField("train.beta1", "AdamW beta1", [](C& c) -> double& { return c.train.beta1; }),
      DoubleField("train.beta2", "AdamW beta2", [](C& c) -> double& { return c.train.beta2; }),
      IntegerField<int>(
          "train.batch_size", "local mini-batch size", false,
          [](C& c) -> int& { return c.train.batch_size; }, 1, 1000000),
      IntegerField<int>(
          "train.epochs", "local passes over the client's data per round", false,
          [](C& c) -> int& { return c.train.epochs; }, 0, 100000),
      IntegerField<int>(
          "train.steps", "local mini-batch steps per round; overrides epochs when > 0", false,
          [](C& c) -> int& { return c.train.steps; }, 0, 100000000),
      DoubleField("train.clip_norm", "clip each step's gradient to this L2 norm (0: off)",
                  [](C& c) -> double& { return c.train.clip_norm; }),
      IntegerField<int>(
          "train.warmup_steps", "linear learning-rate warmup over a client's first N steps", false,
          [](C& c) -> int& { return c.train.warmup_steps; }, 0, 100000000),
      BoolField("train.keep_optimizer_state",
                "keep each client's optimizer moments from round to round (DiLoCo, Photon)",
                [](C& c) -> bool& { return c.train.keep_optimizer_state; }),
      DoubleField("model.small_fraction",
                  "fraction of clients that train a narrower slice of the model (HeteroFL)",
                  [](C& c) -> double& { return c.small_fraction; }),
      DoubleField("model.small_width", "width of the small clients' slice, in (0, 1]",
                  [](C& c) -> double& { return c.small_width; }),
      PlainStringField(
          "strategy.name",
          "aggregation: fedavg fedprox fedavgm fedadagrad fedadam fedyogi diloco scaffold "
          "median trimmed_mean krum norm_bounding lora_exact",
          false, [](C& c) -> std::string& { return c.strategy.name; }),
      DoubleField("strategy.server_lr", "server learning rate (fedavgm, fedad*, fedyogi, diloco)",
                  [](C& c) -> double& { return c.strategy.server_lr; }),
      DoubleField("strategy.momentum", "server momentum (fedavgm; Nesterov for diloco)",
                  [](C& c) -> double& { return c.strategy.momentum; }),
      DoubleField("strategy.beta1", "first-moment decay (fedadagrad, fedadam, fedyogi)",
                  [](C& c) -> double& { return c.strategy.beta1; }),
      DoubleField("strategy.beta2", "second-moment decay (fedadam, fedyogi)",
                  [](C& c) -> double& { return c.strategy.beta2; }),
      DoubleField("strategy.tau", "adaptivity floor (fedadagrad, fedadam, fedyogi)",
                  [](C& c) -> double& { return c.strategy.tau; }),
      BoolField("strategy.bias_correction",
                "fedadam: Adam's bias-corrected moments (with 1-step SGD clients: data-parallel "
                "Adam)",
                [](C& c) -> bool& { return c.strategy.bias_correction; }),
      DoubleField("strategy.mu", "FedProx proximal strength",
                  [](C& c) -> double& { return c.strategy.proximal_mu; }),
      DoubleField("strategy.trim_ratio", "fraction cut at each end per coordinate (trimmed_mean)",
                  [](C& c) -> double& { return c.strategy.trim_ratio; }),
      IntegerField<int>(
          "strategy.byzantine", "attackers Krum and nearest-neighbour mixing tolerate (f)", false,
          [](C& c) -> int& { return c.strategy.byzantine; }, 0, 100000),
      IntegerField<int>(
          "strategy.bucket_size",
          "median, trimmed_mean, krum: average random buckets of this many updates first (1: off)",
          false, [](C& c) -> int& { return c.strategy.bucket_size; }, 1, 1000),
      BoolField("strategy.nearest_neighbor_mixing",
                "median, trimmed_mean, krum: mix each update with its n - f nearest first (NNM)",
                [](C& c) -> bool& { return c.strategy.nearest_neighbor_mixing; }),
      IntegerField<int>(
          "strategy.krum_select", "updates multi-Krum averages (1: Krum)", false,
          [](C& c) -> int& { return c.strategy.krum_select; }, 1, 100000),
      BoolField("strategy.mask_aware",
                "average each coordinate over the clients that sent it (OPWA; sparse uplinks)",
                [](C& c) -> bool& { return c.strategy.mask_aware; }),
      PlainStringField("strategy.local_layers",
                       "tensor name prefixes kept on each client, never sent (e.g. fc2)", false,
                       [](C& c) -> std::string& { return c.local_layers; }),
      DoubleField("strategy.norm_bound", "L2 bound on each update (norm_bounding)",
                  [](C& c) -> double& { return c.strategy.norm_bound; }),
      DoubleField("attack.fraction", "fraction of clients that are Byzantine (simulation)",
                  [](C& c) -> double& { return c.attack.fraction; }),
      PlainStringField("attack.kind", "Byzantine update: signflip scale random nan", false,
                       [](C& c) -> std::string& { return c.attack.kind; }),
      DoubleField("attack.scale", "attack magnitude (signflip: -scale * delta)",
                  [](C& c) -> double& { return c.attack.scale; }),
      PlainStringField("system.profile",
                       "client links and speeds: uniform datacenter edge mobile trace", false,
                       [](C& c) -> std::string& { return c.system.profile; }),
      PlainStringField("system.trace",
                       "CSV client,downlink_mbps,uplink_mbps,latency_ms,speed (profile = trace)",
                       false, [](C& c) -> std::string& { return c.system.trace_path; }),
      DoubleField("system.seconds_per_example", "virtual training cost per example at speed 1",
                  [](C& c) -> double& { return c.system.seconds_per_example; }),
      DoubleField("system.deadline",
                  "virtual seconds per round; later clients are dropped (0: none)",
                  [](C& c) -> double& { return c.system.deadline_seconds; }),
      DoubleField("system.dropout", "probability a sampled client drops out of a round",
                  [](C& c) -> double& { return c.system.dropout; }),
      DoubleField("system.crash_upload", "probability a sampled client crashes mid-upload",
                  [](C& c) -> double& { return c.system.crash_upload; }),
      PlainStringField("compress.uplink",
                       "codec pipeline for client updates, e.g. topk:ratio=0.01|fp16|zstd", false,
                       [](C& c) -> std::string& { return c.uplink_codec; }),
      PlainStringField("compress.downlink",
                       "codec for the server's model change; clients catch up exactly", false,
                       [](C& c) -> std::string& { return c.downlink_codec; }),
      IntegerField<int>(
          "compress.downlink_history",
          "model versions kept for catch-ups; older clients get a full resync", false,
          [](C& c) -> int& { return c.downlink_history; }, 1, 10000),
      BoolField("compress.bandwidth_aware",
                "scale each client's top-k ratio by its uplink bandwidth (system model)",
                [](C& c) -> bool& { return c.bandwidth_aware; }),
      BoolField("compress.error_feedback", "keep what the uplink codec dropped for the next round",
                [](C& c) -> bool& { return c.uplink_error_feedback; }),
      StringField(
          "privacy.mode",
          "client-level DP-FedAvg: off, central (the server adds the noise) or distributed "
          "(each client adds its share); every client weighs 1, the mean divides by K; rounds "
          "below quorum are not accounted (docs/privacy.md)",
          false,
          [](const std::string& v, C& c) -> absl::Status {
            TRIB_ASSIGN_OR_RETURN(c.privacy.mode, ParsePrivacyMode(v));
            return absl::OkStatus();
          },
          [](const C& c) { return std::string(PrivacyModeName(c.privacy.mode)); }),
      DoubleField("privacy.noise_multiplier",
                  "z: noise std on the sum of clipped updates is z * clip_norm",
                  [](C& c) -> double& { return c.privacy.noise_multiplier; }),
      DoubleField("privacy.clip_norm",
                  "C: L2 bound of each client's update (adaptive clipping: the first)",
                  [](C& c) -> double& { return c.privacy.clip_norm; }),
      DoubleField("privacy.delta", "delta of the reported (epsilon, delta)",
                  [](C& c) -> double& { return c.privacy.delta; }),
      DoubleField("privacy.target_epsilon",
                  "stop before the round that would spend more than this (0: no limit)",
                  [](C& c) -> double& { return c.privacy.target_epsilon; }),
      BoolField("privacy.adaptive_clipping",
                "clip norm follows a quantile of the update norms (Andrew et al. 2021)",
                [](C& c) -> bool& { return c.privacy.adaptive_clipping; }),
      DoubleField("privacy.target_quantile",
                  "adaptive clipping: fraction of updates left unclipped",
                  [](C& c) -> double& { return c.privacy.target_quantile; }),
      DoubleField("privacy.clip_learning_rate", "adaptive clipping: geometric step of C",
                  [](C& c) -> double& { return c.privacy.clip_learning_rate; }),
      DoubleField("privacy.count_noise_multiplier",
                  "adaptive clipping: noise std on the count (0: expected cohort / 20)",
                  [](C& c) -> double& { return c.privacy.count_noise_multiplier; }),
      IntegerField<int>(
          "privacy.distributed_clients",
          "distributed: clients whose noise shares make the full noise (0: K)", false,
          [](C& c) -> int& { return c.privacy.distributed_clients; }, 0, 10000000),
      BoolField("privacy.reproducible_noise",
                "draw the noise from run.seed (repeatable; not secret to who knows the seed)",
                [](C& c) -> bool& { return c.privacy.reproducible_noise; }),
      IntegerField<int>(
          "compute.workers", "clients trained concurrently (0: one per core)", false,
          [](C& c) -> int& { return c.workers; }, 0, 1024),
      IntegerField<int>(
          "compute.threads_per_worker",
          "intra-op threads of each worker (0: 1; raise for large models and few clients)", false,
          [](C& c) -> int& { return c.threads_per_worker; }, 0, 1024),
  };
  return fields;
}

const Field* FindField(std::string_view key) {
  for (const Field& f : Fields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

std::string KnownKeys() {
  std::vector<std::string> keys;
  for (const Field& f : Fields()) keys.push_back(f.key);
  return absl::StrJoin(keys, ", ");
}

// Collects dotted keys of every leaf; a table is only allowed as a section.
absl::Status CheckKeys(const toml::table& table, const std::string& prefix) {
  for (const auto& [name, node] : table) {
    const std::string leaf(name.str());
    const std::string key = prefix.empty() ? leaf : absl::StrCat(prefix, ".", leaf);
    if (node.is_table() && prefix.empty()) {
      TRIB_RETURN_IF_ERROR(CheckKeys(*node.as_table(), key));
    } else if (FindField(key) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown config key '", key, "' (known keys: ", KnownKeys(), ")"));
    }
  }
  return absl::OkStatus();
}

const toml::node* Lookup(const toml::table& root, const std::string& key) {
  std::vector<std::string> parts = absl::StrSplit(key, '.');
  const toml::table* section = root.get_as<toml::table>(parts[0]);
  return section == nullptr ? nullptr : section->get(parts[1]);
}

absl::Status ApplyOverride(toml::table& root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set expects key=value, got '", assignment, "'"));
  }
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  if (FindField(key) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set: unknown config key '", key, "' (known keys: ", KnownKeys(), ")"));
  }
  toml::table holder;
  try {
    holder = toml::parse(absl::StrCat("v = ", value));
  } catch (const toml::parse_error&) {
    holder.insert("v", value);  // not a TOML value: take the bare word as a string
  }
  std::vector<std::string> parts = absl::StrSplit(key, '.');
  if (!root.contains(parts[0])) root.insert(parts[0], toml::table{});
  toml::table* section = root.get_as<toml::table>(parts[0]);
  if (section == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("config key '", parts[0], "' must be a table"));
  }
  section->insert_or_assign(parts[1], std::move(*holder.get("v")));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LoadedConfig> ParseExperimentConfig(std::string_view toml_text,
                                                   std::string_view source_view,
                                                   const std::vector<std::string>& overrides) {
  const std::string source(source_view);
  toml::table root;
  try {
    root = toml::parse(toml_text, source_view);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    return absl::InvalidArgumentError(absl::StrCat(source, ": invalid TOML at ", where.str(), ": ",
                                                   std::string(e.description())));
  }
  for (const std::string& assignment : overrides) {
    TRIB_RETURN_IF_ERROR(ApplyOverride(root, assignment));
  }
  absl::Status keys = CheckKeys(root, "");
  if (!keys.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", keys.message()));

  LoadedConfig loaded;
  toml::table resolved;
  for (const Field& field : Fields()) {
    const toml::node* node = Lookup(root, field.key);
    if (node == nullptr && field.required) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": missing required config key '",
                                                     field.key, "' (", field.help, ")"));
    }
    if (node != nullptr) {
      absl::Status status = field.read(*node, loaded.config);
      if (!status.ok())
        return absl::InvalidArgumentError(absl::StrCat(source, ": ", status.message()));
    }
  }
  absl::Status valid = loaded.config.Validate();
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", valid.message()));

  for (const Field& field : Fields()) {
    std::vector<std::string> parts = absl::StrSplit(field.key, '.');
    if (!resolved.contains(parts[0])) resolved.insert(parts[0], toml::table{});
    resolved.get_as<toml::table>(parts[0])->insert(parts[1],
                                                   std::move(*field.write(loaded.config)));
  }
  std::ostringstream out;
  out << resolved << "\n";
  loaded.resolved_toml = out.str();
  return loaded;
}

absl::StatusOr<LoadedConfig> LoadExperimentConfig(const std::string& path,
                                                  const std::vector<std::string>& overrides) {
  TRIB_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseExperimentConfig(text, path, overrides);
}

std::string ConfigReference() {
  std::string out =
      "Config keys (TOML sections [run] [data] [model] [train] [strategy] [attack] [system] "
      "[privacy] [compress] [compute]):\n";
  ExperimentConfig defaults;
  int key_width = 0;
  for (const Field& f : Fields()) key_width = std::max(key_width, static_cast<int>(f.key.size()));
  for (const Field& f : Fields()) {
    std::ostringstream value;
    // Floats as %g: 1e-05, not the round-trip 1.0000000000000001e-05 config.toml keeps.
    f.write(defaults)->visit([&value](const auto& node) {
      if constexpr (toml::is_floating_point<decltype(node)>) {
        value << absl::StrFormat("%g", node.get());
      } else {
        value << node;
      }
    });
    absl::StrAppendFormat(
        &out, "  %-*s %-8s %s%s\n", key_width, f.key, f.type, f.help,
        f.required ? " (required)" : absl::StrCat(" [default ", value.str(), "]"));
  }
  return out;
}

}  // namespace tributary
