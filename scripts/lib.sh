# Shared by scripts/demo and scripts/test: installs missing Debian packages and
# configures and builds the project. Sourced, not run.
set -euo pipefail

DETLLM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DETLLM_BUILD=${DETLLM_BUILD:-$DETLLM_ROOT/build}
# ccache hits across clones in different directories (CI builds a fresh clone).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$DETLLM_ROOT}
DETLLM_PACKAGES=(cmake ninja-build g++ ccache libtorch-dev nlohmann-json3-dev libcli11-dev
                 libgtest-dev libgmock-dev googletest libbenchmark-dev libvalijson-dev
                 libsimdjson-dev libssl-dev pkg-config libpcre2-dev libutf8proc-dev
                 python3 python3-regex)

detllm_install_dependencies() {
  local missing=()
  for p in "${DETLLM_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  local install="apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them with:  sudo apt-get update && sudo $install" >&2
    exit 1
  fi
  echo "installing ${missing[*]} ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  $install >/dev/null
}

detllm_build() {
  mkdir -p "$DETLLM_BUILD"
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$DETLLM_ROOT" -B "$DETLLM_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    "${launcher[@]}" "$@" >"$DETLLM_BUILD/configure.log" 2>&1 ||
    { cat "$DETLLM_BUILD/configure.log" >&2; exit 1; }
  cmake --build "$DETLLM_BUILD" --parallel "$(nproc)"
}
