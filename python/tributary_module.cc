// The C++ side of the Python client (`import tributary`): a FederatedClient whose local
// training is a Python function. States cross the boundary as dicts of float32 numpy arrays;
// python/tributary/__init__.py turns them into torch tensors.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/config_loader.h"
#include "common/file_util.h"
#include "deploy/federated_client.h"

namespace py = pybind11;

namespace tributary {
namespace {

py::dict ToDict(const ModelState& state) {
  py::dict out;
  for (size_t i = 0; i < state.specs().size(); ++i) {
    const TensorSpec& spec = state.specs()[i];
    py::array_t<float> array(spec.shape);
    std::span<const float> values = state.tensor(i);
    std::copy(values.begin(), values.end(), array.mutable_data());
    out[py::str(spec.name)] = std::move(array);
  }
  return out;
}

// Fills `state` (whose layout is the model's) from a dict holding every tensor of the layout,
// each of its shape with finite values. Keys outside the layout (a torch state_dict's
// num_batches_tracked) are ignored.
absl::Status FromDict(const py::dict& values, ModelState& state) {
  for (size_t i = 0; i < state.specs().size(); ++i) {
    const TensorSpec& spec = state.specs()[i];
    const py::str key(spec.name);
    if (!values.contains(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the train function's state has no tensor '", spec.name, "'"));
    }
    auto array = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(values[key]);
    if (!array) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", spec.name, "' is not an array of numbers"));
    }
    if (std::vector<int64_t>(array.shape(), array.shape() + array.ndim()) != spec.shape) {
      return absl::InvalidArgumentError(absl::StrCat("'", spec.name, "' has the wrong shape"));
    }
    std::span<float> out = state.tensor(i);
    const float* in = array.data();
    for (size_t j = 0; j < out.size(); ++j) {
      if (!std::isfinite(in[j])) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", spec.name, "' has a value that is not finite"));
      }
      out[j] = in[j];
    }
  }
  return absl::OkStatus();
}

double MetricOr(const py::dict& metrics, const char* key, double fallback) {
  return metrics.contains(key) ? metrics[key].cast<double>() : fallback;
}

class PythonClient {
 public:
  PythonClient(std::string server, uint32_t client_id, std::string token, std::string token_file,
               std::string data_config, int64_t num_examples, bool insecure, std::string tls_ca,
               std::string tls_cert, std::string tls_key, std::string server_name,
               double give_up_seconds) {
    FederatedClientOptions& o = options_;
    o.server_address = std::move(server);
    o.client_id = client_id;
    if (token.empty() == token_file.empty()) {
      throw std::invalid_argument("give exactly one of token and token_file");
    }
    if (!token_file.empty()) {
      absl::StatusOr<std::string> text = ReadFile(token_file);
      if (!text.ok()) throw std::invalid_argument(std::string(text.status().message()));
      token = std::string(absl::StripAsciiWhitespace(*text));
    }
    o.token = std::move(token);
    o.tls.insecure = insecure;
    o.tls.ca_path = std::move(tls_ca);
    o.tls.cert_path = std::move(tls_cert);
    o.tls.key_path = std::move(tls_key);
    o.tls.server_name = std::move(server_name);
    o.give_up_seconds = give_up_seconds;
    if (data_config.empty() == (num_examples <= 0)) {
      throw std::invalid_argument(
          "give either data_config (the client's data, as `tributary client --data-config` takes) "
          "or num_examples (the count it trains on)");
    }
    if (!data_config.empty()) {
      absl::StatusOr<LoadedConfig> local = LoadExperimentConfig(data_config, {});
      if (!local.ok()) throw std::invalid_argument(std::string(local.status().message()));
      o.data_config = local->config;
    }
    o.declared_examples = num_examples;
    o.resolve_config = [](const std::string& text) -> absl::StatusOr<ExperimentConfig> {
      absl::StatusOr<LoadedConfig> server = ParseExperimentConfig(text, "server", {});
      if (!server.ok()) return server.status();
      return server->config;
    };
  }

  // Runs the client until the server ends the run. `train(state) -> (state, num_examples,
  // metrics)` is called with the GIL held; everything else runs without it.
  void Run(py::function train) {
    // Held here, not in the std::function that the client copies without the GIL.
    train_ = std::move(train);
    options_.external_train = [this](const ModelState& start,
                                     ModelState* delta) -> absl::StatusOr<LocalTrainResult> {
      py::gil_scoped_acquire gil;
      try {
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // Ctrl-C stops the client
        py::tuple result = train_(ToDict(start));
        if (result.size() != 3) {
          return absl::FailedPreconditionError(
              "the train function must return (state, num_examples, metrics)");
        }
        if (absl::Status s = FromDict(result[0].cast<py::dict>(), *delta); !s.ok()) {
          return absl::FailedPreconditionError(s.message());
        }
        const int64_t n = result[1].cast<int64_t>();
        const py::dict metrics = result[2].is_none() ? py::dict() : result[2].cast<py::dict>();
        std::span<float> d = delta->flat();
        std::span<const float> s = start.flat();
        for (size_t i = 0; i < d.size(); ++i) d[i] -= s[i];
        return LocalTrainResult{
            .num_examples = n,
            .steps = static_cast<int64_t>(MetricOr(metrics, "steps", 0)),
            .examples_processed = static_cast<int64_t>(MetricOr(metrics, "examples_processed", n)),
            .mean_loss = MetricOr(metrics, "loss", 0.0)};
      } catch (const py::error_already_set& e) {
        // The user's code failed: retrying the round would fail the same way.
        return absl::FailedPreconditionError(absl::StrCat("the train function raised ", e.what()));
      } catch (const py::cast_error& e) {
        return absl::FailedPreconditionError(
            absl::StrCat("the train function must return (dict, int, dict): ", e.what()));
      }
    };
    client_ = std::make_unique<FederatedClient>(options_);
    absl::Status status;
    {
      py::gil_scoped_release release;
      status = client_->Run();
    }
    if (!status.ok()) throw std::runtime_error(std::string(status.message()));
  }

  // The engine's own local training of the current round on the client's partition, as a C++
  // client runs it: for train functions that wrap or compare against it.
  py::tuple TrainWithEngine(const py::dict& state) {
    if (!client_) throw std::runtime_error("train_with_engine is for use inside run()'s train");
    absl::StatusOr<std::vector<TensorSpec>> layout = Layout();
    ModelState start = *ModelState::Zeros(*layout);
    if (absl::Status s = FromDict(state, start); !s.ok()) {
      throw std::invalid_argument(std::string(s.message()));
    }
    ModelState delta = start.ZerosLike();
    absl::StatusOr<LocalTrainResult> result;
    {
      py::gil_scoped_release release;
      result = client_->TrainWithEngine(start, &delta);
    }
    if (!result.ok()) throw std::runtime_error(std::string(result.status().message()));
    std::span<float> d = delta.flat();
    std::span<const float> s = start.flat();
    for (size_t i = 0; i < d.size(); ++i) d[i] += s[i];
    py::dict metrics;
    metrics["loss"] = result->mean_loss;
    metrics["steps"] = result->steps;
    metrics["examples_processed"] = result->examples_processed;
    return py::make_tuple(ToDict(delta), result->num_examples, metrics);
  }

 private:
  absl::StatusOr<std::vector<TensorSpec>> Layout() const { return client_->model_layout(); }

  py::function train_;
  FederatedClientOptions options_;
  std::unique_ptr<FederatedClient> client_;
};

}  // namespace
}  // namespace tributary

PYBIND11_MODULE(_tributary, m) {
  m.doc() = "Tributary's federated client with a Python train function (see tributary.Client)";
  py::class_<tributary::PythonClient>(m, "Client")
      .def(py::init<std::string, uint32_t, std::string, std::string, std::string, int64_t, bool,
                    std::string, std::string, std::string, std::string, double>(),
           py::arg("server"), py::arg("client_id"), py::arg("token"), py::arg("token_file"),
           py::arg("data_config"), py::arg("num_examples"), py::arg("insecure"), py::arg("tls_ca"),
           py::arg("tls_cert"), py::arg("tls_key"), py::arg("server_name"),
           py::arg("give_up_seconds"))
      .def("run", &tributary::PythonClient::Run, py::arg("train"))
      .def("train_with_engine", &tributary::PythonClient::TrainWithEngine, py::arg("state"));
}
