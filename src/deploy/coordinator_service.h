// The gRPC face of the Coordinator: authenticates every call (bearer token for the client id in
// the metadata) before reading anything, admits it within the call limits (ServerLimits),
// streams downloads in chunks, assembles uploads and hands complete ones to the Coordinator.
// A stream that stays silent past its limit is cancelled by a watchdog. Every refusal is
// counted by reason in the coordinator's counters.
//
// Thread-safety: gRPC calls the handlers concurrently; all shared state is in the Coordinator.
#ifndef TRIBUTARY_DEPLOY_COORDINATOR_SERVICE_H_
#define TRIBUTARY_DEPLOY_COORDINATOR_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <optional>

#include "deploy/call_admission.h"
#include "deploy/client_tokens.h"
#include "deploy/coordinator.h"
#include "deploy/protocol_checks.h"
#include "deploy/server_limits.h"
#include "deploy/watchdog.h"
#include "tributary.grpc.pb.h"

namespace tributary {

// Metadata keys every call carries.
inline constexpr char kClientIdMetadata[] = "tributary-client-id";
inline constexpr char kAuthorizationMetadata[] = "authorization";

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  CoordinatorService(Coordinator& coordinator, const ClientTokens& tokens,
                     const ServerLimits& limits);

  grpc::Status Register(grpc::ServerContext* context, const v1::RegisterRequest* request,
                        v1::RegisterReply* reply) override;
  grpc::Status NextRound(grpc::ServerContext* context, const v1::NextRoundRequest* request,
                         grpc::ServerWriter<v1::RoundMessage>* writer) override;
  grpc::Status Upload(grpc::ServerContext* context, grpc::ServerReader<v1::UploadMessage>* reader,
                      v1::UploadReply* reply) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatReply* reply) override;
  grpc::Status SecureAggregation(grpc::ServerContext* context, const v1::SecAggRequest* request,
                                 v1::SecAggReply* reply) override;

 private:
  // Authenticates the caller from the call's metadata alone (nothing is read from the stream)
  // and admits the call within the call limits; `slot` holds its place until the call ends.
  grpc::Status Admit(const grpc::ServerContext& context, uint32_t* caller,
                     std::optional<CallAdmission::Slot>* slot);
  // The caller named another client in its message.
  grpc::Status WrongClient(uint32_t caller, uint32_t claimed);
  grpc::Status Reject(CallRejection why, grpc::StatusCode code, const std::string& message);
  grpc::Status Invalid(const std::string& message);

  Coordinator& coordinator_;
  const ClientTokens& tokens_;
  const ServerLimits limits_;
  CallAdmission admission_;
  Watchdog watchdog_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_COORDINATOR_SERVICE_H_
