#!/usr/bin/env bash
# Installs every build and run dependency from Debian packages. Idempotent: packages that are
# already installed are left alone, so a second run costs only the dpkg query.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config git clang-format
  libtorch-dev libopenblas0-pthread
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
  libzstd-dev zlib1g-dev libxxhash-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libssl-dev openssl
  libcpp-httplib-dev
  dataset-fashion-mnist
)
# python3-torch lets the test suite check that saved models load in PyTorch; optional.
optional_packages=(python3-torch)

missing=()
for p in "${packages[@]}" "${optional_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
$sudo apt-get install -y -q --no-install-recommends "${optional_packages[@]}" ||
  echo "setup: optional ${optional_packages[*]} not installed; the PyTorch-load test will be skipped"
