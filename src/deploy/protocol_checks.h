// What the server checks of what a client sends before anything weighs on the run, apart from
// the coordinator and its service so that the fuzz targets (fuzz/protocol_fuzz.cc) run exactly
// these checks.
#ifndef TRIBUTARY_DEPLOY_PROTOCOL_CHECKS_H_
#define TRIBUTARY_DEPLOY_PROTOCOL_CHECKS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "engine/client_channel.h"
#include "tributary.pb.h"

namespace tributary {

// What a registering client declares: an id of the federation, an example count that a
// cohort's total cannot overflow, a plausible bandwidth.
absl::Status CheckRegistration(uint32_t client, int64_t num_examples, double uplink_mbps,
                               int num_clients);

// A whole upload (its header and reassembled, checksummed payload) as the engine takes it: the
// update, the attachment that ends the payload, and the client's report.
absl::StatusOr<ClientUpload> UploadFromMessages(const v1::UploadHeader& header, Payload payload);

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_PROTOCOL_CHECKS_H_
