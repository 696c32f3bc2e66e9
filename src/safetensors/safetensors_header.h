// Internal: the safetensors format, its one home — a file's header (8-byte
// little-endian header length, a JSON header naming each tensor's dtype, shape
// and byte range, then the raw bytes) and a sharded checkpoint's index,
// parsed and validated without libtorch (checkpoint/tensor_file.h turns the
// byte ranges into tensors): every entry is
// checked before a byte of data is read, so a corrupt or truncated file is a
// detllm::Error, never an out-of-bounds read.
#ifndef DETLLM_SRC_SAFETENSORS_SAFETENSORS_HEADER_H_
#define DETLLM_SRC_SAFETENSORS_SAFETENSORS_HEADER_H_

#include <cstdint>
#include <istream>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace detllm::internal {

struct SafetensorsHeader {
  struct Entry {
    std::string dtype;  // as written: "F32", "BF16", ...
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // byte range, relative to the data section
  };
  uint64_t data_start = 0;  // where the data section starts in the file
  std::map<std::string, Entry> entries;
  std::map<std::string, std::string> metadata;
};

// Bytes per element of a safetensors dtype ("F32": 4), 0 if unsupported.
uint64_t safetensors_dtype_bytes(const std::string& dtype);

// Reads and validates the header of a file of `file_size` bytes from `in`,
// positioned at its start; throws detllm::Error naming `where` (e.g.
// "safetensors file 'model.safetensors'") and the problem.
SafetensorsHeader read_safetensors_header(std::istream& in, uint64_t file_size,
                                          const std::string& where);

// model.safetensors.index.json's weight_map: tensor name -> shard file name.
// Shard names must be plain file names in the directory (no path).
std::map<std::string, std::string> read_safetensors_index(const nlohmann::json& index,
                                                          const std::string& where);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_SAFETENSORS_SAFETENSORS_HEADER_H_
