#include "deploy/metrics_endpoint.h"

#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tributary {
namespace {

void Metric(std::string& out, const char* name, const char* type, const char* help, double value) {
  absl::StrAppendFormat(&out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type,
                        name, value);
}

}  // namespace

std::string PrometheusText(const CoordinatorCounters& c) {
  std::string out;
  Metric(out, "tributary_rounds_completed", "counter", "Rounds completed.",
         c.rounds_completed.load());
  Metric(out, "tributary_current_round", "gauge", "The round in progress or last run.",
         c.current_round.load());
  Metric(out, "tributary_registered_clients", "gauge", "Clients that have registered.",
         c.registered_clients.load());
  Metric(out, "tributary_registrations_total", "counter", "Registrations, reconnects included.",
         c.registrations.load());
  Metric(out, "tributary_bytes_up_total", "counter", "Update payload bytes received.",
         c.bytes_up_total.load());
  Metric(out, "tributary_bytes_down_total", "counter", "Model payload bytes sent.",
         c.bytes_down_total.load());
  Metric(out, "tributary_last_round_seconds", "gauge", "Wall time of the last round.",
         c.last_round_seconds.load());
  Metric(out, "tributary_test_accuracy", "gauge", "Test accuracy at the last evaluation.",
         c.last_test_accuracy.load());
  Metric(out, "tributary_last_upload_bytes", "gauge", "Size of the last complete upload.",
         c.last_upload_bytes.load());
  Metric(out, "tributary_last_upload_receive_seconds", "gauge",
         "Time from the last complete upload's header to its last byte.",
         c.last_upload_receive_seconds.load());
  Metric(out, "tributary_last_upload_submit_seconds", "gauge",
         "Time the last complete upload took to validate, decode and aggregate.",
         c.last_upload_submit_seconds.load());
  Metric(out, "tributary_partial_uploads_total", "counter",
         "Uploads cut off before their last byte; never aggregated.", c.partial_uploads.load());
  Metric(out, "tributary_late_uploads_total", "counter",
         "Uploads still in flight at the round's deadline, cut off; never aggregated.",
         c.late_uploads.load());
  Metric(out, "tributary_secagg_refused_messages_total", "counter",
         "Secure aggregation messages refused (malformed or unexpected); each sender was dropped "
         "from its round's protocol.",
         c.secagg_refused.load());
  Metric(out, "tributary_secagg_abandoned_rounds_total", "counter",
         "Secure aggregation rounds abandoned with fewer than secagg.threshold clients left.",
         c.secagg_abandoned.load());
  absl::StrAppend(&out,
                  "# HELP tributary_rejected_calls_total Calls refused or cut off, by reason.\n"
                  "# TYPE tributary_rejected_calls_total counter\n");
  for (size_t i = 0; i < static_cast<size_t>(CallRejection::kCount); ++i) {
    absl::StrAppendFormat(&out, "tributary_rejected_calls_total{reason=\"%s\"} %d\n",
                          CallRejectionName(static_cast<CallRejection>(i)),
                          c.rejected_calls[i].load());
  }
  absl::StrAppend(&out,
                  "# HELP tributary_rejected_uploads_total Complete uploads not aggregated, by "
                  "reason.\n"
                  "# TYPE tributary_rejected_uploads_total counter\n");
  for (size_t i = 0; i < static_cast<size_t>(UploadRejection::kCount); ++i) {
    absl::StrAppendFormat(&out, "tributary_rejected_uploads_total{reason=\"%s\"} %d\n",
                          UploadRejectionName(static_cast<UploadRejection>(i)),
                          c.rejected_uploads[i].load());
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const CoordinatorCounters& counters, const std::string& host, int port) {
  auto endpoint = std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint());
  endpoint->server_ = std::make_unique<httplib::Server>();
  endpoint->server_->Get("/metrics", [&counters](const httplib::Request&, httplib::Response& res) {
    res.set_content(PrometheusText(counters), "text/plain; version=0.0.4");
  });
  endpoint->port_ = port == 0 ? endpoint->server_->bind_to_any_port(host)
                              : (endpoint->server_->bind_to_port(host, port) ? port : -1);
  if (endpoint->port_ < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for metrics on ", host, ":", port));
  }
  httplib::Server* server = endpoint->server_.get();
  endpoint->thread_ = std::thread([server] { server->listen_after_bind(); });
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tributary
