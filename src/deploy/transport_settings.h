// HTTP/2 and socket settings both ends of the coordinator protocol use: large stream windows
// and frames, messages that fit a chunk, and 1 MiB socket reads (gRPC's default of 8 KiB held
// 1 GiB loopback transfers near 1 GB/s; with it, 1.2-1.4 GB/s; docs/deploy.md).
#ifndef TRIBUTARY_DEPLOY_TRANSPORT_SETTINGS_H_
#define TRIBUTARY_DEPLOY_TRANSPORT_SETTINGS_H_

#include <grpcpp/grpcpp.h>

namespace tributary {

void ApplyTransportSettings(grpc::ChannelArguments& args);
void ApplyTransportSettings(grpc::ServerBuilder& builder);

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_TRANSPORT_SETTINGS_H_
