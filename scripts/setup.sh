#!/usr/bin/env bash
# Installs every Debian 12 package Kestrel needs to build, test and benchmark (run as root; idempotent).
set -euo pipefail
packages=(
  cmake g++ ninja-build pkg-config ccache
  libprotobuf-dev protobuf-compiler libonnx-dev zlib1g-dev
  libdnnl-dev ocl-icd-opencl-dev   # dnnl-config.cmake looks for OpenCL (a Recommends of libdnnl-dev)
  libgtest-dev libgmock-dev libbenchmark-dev libonnx-testdata
  python3-dev pybind11-dev python3-numpy python3-pytest
  clang libclang-rt-14-dev libomp-dev
  libcpp-httplib-dev libgrpc++-dev protobuf-compiler-grpc nlohmann-json3-dev
  python3-requests python3-grpcio python3-protobuf
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
