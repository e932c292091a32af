// HTTP/2 settings both ends of the coordinator protocol use. gRPC's defaults (64 KiB stream
// windows grown by bandwidth probing) held loopback transfers of a large model at ~0.1 GB/s;
// large windows and frames let chunked transfers run near the link's speed.
#ifndef TRIBUTARY_DEPLOY_TRANSPORT_SETTINGS_H_
#define TRIBUTARY_DEPLOY_TRANSPORT_SETTINGS_H_

#include <grpcpp/grpcpp.h>

namespace tributary {

void ApplyTransportSettings(grpc::ChannelArguments& args);
void ApplyTransportSettings(grpc::ServerBuilder& builder);

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_TRANSPORT_SETTINGS_H_
