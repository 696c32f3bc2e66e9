// Comparing two environment snapshots field by field, and turning the fields
// that differ into likely causes of a divergence.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "artifacts/sha256.h"
#include "detllm_test/env_snapshot.h"

namespace detllm {

using nlohmann::json;

namespace {

// "/torch/runtime/num_threads" -> "torch.runtime.num_threads" (JSON Pointer
// escapes undone).
std::string dotted(const std::string& pointer) {
  std::string out;
  for (size_t i = 1; i < pointer.size(); ++i) {
    if (pointer[i] == '/') {
      out += '.';
    } else if (pointer[i] == '~' && i + 1 < pointer.size()) {
      out += pointer[++i] == '0' ? '~' : '/';
    } else {
      out += pointer[i];
    }
  }
  return out;
}

// A value for a sentence: strings bare, absent as "(absent)".
std::string shown(const json& snapshot, const json::json_pointer& where) {
  if (!snapshot.contains(where)) return "(absent)";
  const json& value = snapshot.at(where);
  return internal::printable(value.is_string() ? value.get<std::string>() : internal::dump(value));
}

// What each group of fields means, most likely cause of a numeric change first.
struct CauseGroup {
  const char* prefix;  // dotted path prefix
  const char* name;
};
constexpr CauseGroup kCauseGroups[] = {
    {"libtorch", "libtorch"},
    {"cuda.driver_version", "CUDA driver"},
    {"cuda.runtime_version", "CUDA runtime"},
    {"cublas", "cuBLAS"},
    {"cudnn", "cuDNN"},
    {"device", "GPU"},
    {"blas", "BLAS"},
    {"cpu.isa", "CPU vector ISA"},
    {"cpu.model", "CPU"},
    {"torch.runtime.num_threads", "intra-op threads"},
    {"torch.runtime.num_interop_threads", "inter-op threads"},
    {"torch.runtime", "determinism control"},
    {"env_vars", "environment variable"},
    {"compiler", "compiler"},
};

}  // namespace

std::string env_fingerprint(const json& snapshot) {
  json without = snapshot;
  if (without.is_object()) without.erase("fingerprint");
  return internal::sha256_hex(internal::dump(without));
}

std::vector<std::string> env_differences(const json& left, const json& right) {
  std::vector<std::string> out;
  for (const json& operation : json::diff(left, right)) {
    const std::string path = dotted(operation["path"].get<std::string>());
    if (path != "fingerprint") out.push_back(internal::printable(path));  // keys of a file
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> env_likely_causes(const json& left, const json& right) {
  const std::vector<std::string> fields = env_differences(left, right);
  std::vector<std::string> causes;
  for (const CauseGroup& group : kCauseGroups) {
    const std::string prefix = group.prefix;
    for (const std::string& field : fields) {
      if (field.rfind(prefix, 0) != 0) continue;
      if (field.size() > prefix.size() && field[prefix.size()] != '.') continue;
      const bool claimed = std::any_of(std::begin(kCauseGroups), &group, [&](const CauseGroup& g) {
        const std::string p = g.prefix;
        return field.rfind(p, 0) == 0 && (field.size() == p.size() || field[p.size()] == '.');
      });
      if (claimed) continue;  // an earlier, more specific group named it
      const json::json_pointer where("/" + [&] {
        std::string pointer = field;
        std::replace(pointer.begin(), pointer.end(), '.', '/');
        return pointer;
      }());
      const std::string detail = field == prefix ? "" : " " + field.substr(prefix.size() + 1);
      causes.push_back(std::string(group.name) + detail + ": " + shown(left, where) + " -> " +
                       shown(right, where));
    }
  }
  return causes;
}

}  // namespace detllm
