// Internal: safetensors files as tensors: reading one (its header validated by
// safetensors_header.h first) and writing one.
#ifndef DETLLM_SRC_GPT2_SAFETENSORS_H_
#define DETLLM_SRC_GPT2_SAFETENSORS_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gpt2/safetensors_header.h"

namespace detllm::internal {

class SafetensorsFile {
 public:
  using Entry = SafetensorsHeader::Entry;

  // Reads and validates the header of `path`; throws detllm::Error naming the
  // file and the problem.
  explicit SafetensorsFile(std::string path);

  const std::map<std::string, Entry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  // The tensor `name` in its stored dtype, on the CPU, read from the file.
  at::Tensor read(const std::string& name) const;

 private:
  std::string path_;
  uint64_t data_start_ = 0;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes `tensors` (contiguous copies are taken) as a safetensors file.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace detllm::internal

#endif  // DETLLM_SRC_GPT2_SAFETENSORS_H_
