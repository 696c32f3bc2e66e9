// Internal: safetensors files as libtorch tensors: reading one (the format,
// header and index, is src/safetensors/'s) and writing one.
#ifndef DETLLM_SRC_CHECKPOINT_TENSOR_FILE_H_
#define DETLLM_SRC_CHECKPOINT_TENSOR_FILE_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "safetensors/safetensors_header.h"

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

// The weights of a checkpoint directory: model.safetensors, or the shards
// that model.safetensors.index.json maps each tensor to (the index wins when
// both are there, as in transformers). Every mapped tensor must be in its shard.
class SafetensorsCheckpoint {
 public:
  using Entry = SafetensorsHeader::Entry;

  // Throws detllm::Error naming the file and the problem; "no weights" when
  // the directory has neither file.
  explicit SafetensorsCheckpoint(const std::string& directory);

  bool contains(const std::string& name) const { return shard_of_.count(name) != 0; }
  const Entry& entry(const std::string& name) const;
  std::vector<std::string> names() const;
  at::Tensor read(const std::string& name) const;
  // The files read: model.safetensors, or the index and then each shard.
  const std::vector<std::string>& files() const { return files_; }

 private:
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, size_t> shard_of_;  // tensor -> index into shards_
  std::vector<std::string> files_;
};

// Writes `tensors` (contiguous copies are taken) as a safetensors file.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECKPOINT_TENSOR_FILE_H_
