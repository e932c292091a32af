// gRPC credentials from the command line's TLS options. Plain text needs an explicit
// `--insecure`; with TLS the server presents a certificate, and with a client CA it also
// requires and verifies client certificates (mutual TLS).
#ifndef TRIBUTARY_DEPLOY_CREDENTIALS_H_
#define TRIBUTARY_DEPLOY_CREDENTIALS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace tributary {

struct ServerTlsOptions {
  bool insecure = false;
  std::string cert_path;       // PEM certificate chain
  std::string key_path;        // PEM private key
  std::string client_ca_path;  // PEM CA; set: mutual TLS
};

struct ClientTlsOptions {
  bool insecure = false;
  std::string ca_path;    // PEM roots that sign the server's certificate; empty: system roots
  std::string cert_path;  // client certificate and key, for mutual TLS
  std::string key_path;
  std::string server_name;  // name to verify the certificate against, when not the host's
};

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options);
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientTlsOptions& options);

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_CREDENTIALS_H_
