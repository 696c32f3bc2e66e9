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

detllm_build() {
  mkdir -p "$DETLLM_BUILD"
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$DETLLM_ROOT" -B "$DETLLM_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    "${launcher[@]}" "$@" >"$DETLLM_BUILD/configure.log" 2>&1 ||
    { cat "$DETLLM_BUILD/configure.log" >&2; exit 1; }
  cmake --build "$DETLLM_BUILD" --parallel "$(nproc)"
}

# The pinned Python environment of the reference tests (scripts/requirements.txt:
# torch, transformers, tokenizers, ...): a venv in the build tree, made again only
# when the requirements change. Wheels are kept in a wheel cache (the package
# index here sends no cache headers, so pip's own HTTP cache keeps nothing);
# with every wheel there, installing downloads nothing. Sets DETLLM_PYTHON to
# its interpreter, or to "" with the reason in $DETLLM_BUILD/pyenv-unavailable.txt
# (PyPI unreachable, DETLLM_PYTHON_ENV=off): the reference tests then skip. A
# DETLLM_PYTHON already set to an interpreter is used as it is.
detllm_python_env() {
  local env=$DETLLM_BUILD/pyenv requirements=$DETLLM_ROOT/scripts/requirements.txt
  local wheels=${DETLLM_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/detllm/wheels}
  local note=$DETLLM_BUILD/pyenv-unavailable.txt want
  mkdir -p "$DETLLM_BUILD"
  rm -f "$note"
  if [[ ${DETLLM_PYTHON_ENV:-on} == off ]]; then
    DETLLM_PYTHON=""
    echo "DETLLM_PYTHON_ENV=off" >"$note"
    return 0
  fi
  # An environment of one's own (another build tree's): DETLLM_PYTHON=<venv>/bin/python.
  if [[ -n ${DETLLM_PYTHON:-} && -x $DETLLM_PYTHON ]]; then
    return 0
  fi
  DETLLM_PYTHON=""
  want=$(sha256sum <"$requirements" | cut -d' ' -f1)
  if [[ -x $env/bin/python && $(cat "$env/.requirements.sha256" 2>/dev/null) == "$want" ]]; then
    DETLLM_PYTHON=$env/bin/python
    return 0
  fi
  echo "making the pinned Python environment in $env (wheels cached in $wheels) ..." >&2
  rm -rf "$env"
  mkdir -p "$wheels"
  local log=$DETLLM_BUILD/pyenv.log
  if ! python3 -m venv "$env" >"$log" 2>&1; then
    echo "python3 -m venv failed: $(tail -1 "$log")" >"$note"
  elif ! "$env/bin/pip" install -q --no-index --find-links "$wheels" -r "$requirements" >>"$log" 2>&1 &&
       ! { "$env/bin/pip" download -q --dest "$wheels" -r "$requirements" >>"$log" 2>&1 &&
           "$env/bin/pip" install -q --no-index --find-links "$wheels" -r "$requirements" >>"$log" 2>&1; }; then
    echo "pip could not install scripts/requirements.txt (PyPI unreachable?): $(grep -m1 -E 'ERROR|error' "$log" || tail -1 "$log")" >"$note"
  else
    echo "$want" >"$env/.requirements.sha256"
    DETLLM_PYTHON=$env/bin/python
    return 0
  fi
  echo "reference tests will skip: $(cat "$note")" >&2
  rm -rf "$env"
}
