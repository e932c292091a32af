#include "deploy/credentials.h"

#include "common/file_util.h"
#include "common/status_util.h"

namespace tributary {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options) {
  if (options.insecure) {
    if (!options.cert_path.empty() || !options.client_ca_path.empty()) {
      return absl::InvalidArgumentError("--insecure excludes the TLS options");
    }
    return grpc::InsecureServerCredentials();
  }
  if (options.cert_path.empty() || options.key_path.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs --tls-cert and --tls-key (or --insecure for plain text on a trusted network)");
  }
  grpc::SslServerCredentialsOptions ssl;
  TRIB_ASSIGN_OR_RETURN(std::string cert, ReadFile(options.cert_path));
  TRIB_ASSIGN_OR_RETURN(std::string key, ReadFile(options.key_path));
  ssl.pem_key_cert_pairs.push_back({key, cert});
  if (!options.client_ca_path.empty()) {
    TRIB_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(options.client_ca_path));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientTlsOptions& options) {
  if (options.insecure) {
    if (!options.ca_path.empty() || !options.cert_path.empty()) {
      return absl::InvalidArgumentError("--insecure excludes the TLS options");
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_path.empty()) {
    TRIB_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(options.ca_path));
  }
  if (options.cert_path.empty() != options.key_path.empty()) {
    return absl::InvalidArgumentError("mutual TLS needs both --tls-cert and --tls-key");
  }
  if (!options.cert_path.empty()) {
    TRIB_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFile(options.cert_path));
    TRIB_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFile(options.key_path));
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace tributary
