// The gRPC face of the Coordinator: authenticates every call (bearer token for the client id in
// the metadata), streams downloads in chunks, assembles uploads and hands complete ones to the
// Coordinator. Rejected calls are counted in the coordinator's counters.
//
// Thread-safety: gRPC calls the handlers concurrently; all shared state is in the Coordinator.
#ifndef TRIBUTARY_DEPLOY_COORDINATOR_SERVICE_H_
#define TRIBUTARY_DEPLOY_COORDINATOR_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "deploy/client_tokens.h"
#include "deploy/coordinator.h"
#include "tributary.grpc.pb.h"

namespace tributary {

// Metadata keys every call carries.
inline constexpr char kClientIdMetadata[] = "tributary-client-id";
inline constexpr char kAuthorizationMetadata[] = "authorization";

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  CoordinatorService(Coordinator& coordinator, const ClientTokens& tokens)
      : coordinator_(coordinator), tokens_(tokens) {}

  grpc::Status Register(grpc::ServerContext* context, const v1::RegisterRequest* request,
                        v1::RegisterReply* reply) override;
  grpc::Status NextRound(grpc::ServerContext* context, const v1::NextRoundRequest* request,
                         grpc::ServerWriter<v1::RoundMessage>* writer) override;
  grpc::Status Upload(grpc::ServerContext* context, grpc::ServerReader<v1::UploadMessage>* reader,
                      v1::UploadReply* reply) override;

 private:
  // Checks the caller's client id and token from the call's metadata; `claimed`, the id in the
  // request message, must be that id.
  grpc::Status Authenticate(const grpc::ServerContext& context, uint32_t claimed);
  // The authenticated caller's id, from the metadata alone (nothing read from the stream).
  grpc::Status AuthenticateCaller(const grpc::ServerContext& context, uint32_t* id);
  grpc::Status Invalid(const std::string& message);

  Coordinator& coordinator_;
  const ClientTokens& tokens_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_COORDINATOR_SERVICE_H_
