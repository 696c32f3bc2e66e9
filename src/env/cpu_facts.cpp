// CPU facts for env.json: the BLAS behind libtorch (netlib, OpenBLAS and its
// core type, MKL, BLIS) and the vector ISA, each of which rounds differently.
#include "env/cpu_facts.h"

#include <dlfcn.h>
#include <link.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace detllm::internal {
namespace {

using nlohmann::json;

// The loaded shared objects whose file name contains `needle`.
std::vector<std::string> loaded_libraries(const char* needle) {
  struct Search {
    const char* needle;
    std::vector<std::string> found;
  } search{needle, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        const std::string path = info->dlpi_name ? info->dlpi_name : "";
        const std::string file = path.substr(path.find_last_of('/') + 1);
        if (file.find(s->needle) != std::string::npos) s->found.push_back(path);
        return 0;
      },
      &search);
  return search.found;
}

std::string resolved(const std::string& path) {
  char real[PATH_MAX];
  return realpath(path.c_str(), real) ? std::string(real) : path;
}

// /proc/cpuinfo's first value for `key`.
std::string cpuinfo(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t start = line.find_first_not_of(' ', colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

// The vector-ISA flags that select different kernels (and so roundings) in
// BLAS and oneDNN.
constexpr const char* kIsaFlags[] = {"sse4_2",      "avx",         "avx2",        "fma",
                                     "f16c",        "avx512f",     "avx512bw",    "avx512vl",
                                     "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
                                     "amx_bf16",    "amx_int8",    "asimd",       "sve"};

}  // namespace

json blas_facts() {
  json facts = {{"library", nullptr}, {"vendor", "unknown"}};
  // The library whose sgemm_ libtorch's calls bind to (the first definition in
  // the process): another BLAS loaded beside it, e.g. libopenblas.so.0 pulled
  // in by some other dependency while libblas.so.3 is netlib, must not count.
  void* provider = RTLD_DEFAULT;
  Dl_info info{};
  if (void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
      sgemm && dladdr(sgemm, &info) && info.dli_fname) {
    facts["library"] = resolved(info.dli_fname);
    if (void* handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD)) provider = handle;
  } else {
    std::vector<std::string> found = loaded_libraries("blas");
    for (const std::string& mkl : loaded_libraries("mkl_")) found.push_back(mkl);
    if (!found.empty()) facts["library"] = resolved(found.front());
  }
  using Text = const char* (*)();
  if (auto config = reinterpret_cast<Text>(dlsym(provider, "openblas_get_config"))) {
    facts["vendor"] = "OpenBLAS";
    facts["config"] = config();
    if (auto core = reinterpret_cast<Text>(dlsym(provider, "openblas_get_corename"))) {
      facts["core"] = core();
    }
  } else if (dlsym(provider, "mkl_get_version_string") || dlsym(provider, "MKL_Get_Version")) {
    facts["vendor"] = "MKL";
  } else if (dlsym(provider, "bli_info_get_version_str")) {
    facts["vendor"] = "BLIS";
  } else if (facts["library"].is_string() &&
             facts["library"].get<std::string>().find("/blas/") != std::string::npos) {
    facts["vendor"] = "netlib";  // Debian's reference BLAS lives in .../blas/
  }
  if (provider != RTLD_DEFAULT) dlclose(provider);
  return facts;
}

json cpu_facts() {
  std::string model = cpuinfo("model name");
  if (model.empty()) model = "unknown";
  // x86 says "flags", ARM "Features". Appended, not `+`-chained: GCC 12's
  // -Wrestrict misreads the chain in C++20.
  std::string both = cpuinfo("flags");
  both += ' ';
  both += cpuinfo("Features");
  std::istringstream flags(both);
  std::vector<std::string> present;
  std::string flag;
  std::vector<std::string> all;
  while (flags >> flag) all.push_back(flag);
  for (const char* wanted : kIsaFlags) {
    for (const std::string& f : all) {
      if (f == wanted) {
        present.push_back(f);
        break;
      }
    }
  }
  return {
      {"model", model}, {"logical_cores", std::thread::hardware_concurrency()}, {"isa", present}};
}

}  // namespace detllm::internal
