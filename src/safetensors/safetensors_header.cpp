// The header of a safetensors file validated without libtorch (fuzzed): length,
// JSON, each tensor's dtype, shape and byte range inside the file.
#include "safetensors/safetensors_header.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB; so do we, before
// allocating one.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// A JSON value that must be a non-negative integer that fits in 63 bits.
bool is_count(const json& value) {
  if (value.is_number_unsigned()) {
    return value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  }
  return value.is_number_integer() && value.get<int64_t>() >= 0;
}

}  // namespace

uint64_t safetensors_dtype_bytes(const std::string& dtype) {
  static const std::map<std::string, uint64_t> kBytes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};
  const auto found = kBytes.find(dtype);
  return found == kBytes.end() ? 0 : found->second;
}

namespace {

// One tensor's entry of the header, checked against the `data_size` bytes
// after it: a known dtype, a shape whose byte count does not overflow, and
// data_offsets that hold exactly that many bytes.
SafetensorsHeader::Entry read_entry(const std::string& name, const json& value, uint64_t data_size,
                                    const std::string& where) {
  const std::string tensor = where + ", tensor '" + name + "'";
  if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
      !value.contains("data_offsets")) {
    throw Error(tensor + ": expected an object with dtype, shape and data_offsets");
  }
  const json& dtype = value["dtype"];
  const uint64_t dtype_bytes =
      dtype.is_string() ? safetensors_dtype_bytes(dtype.get<std::string>()) : 0;
  if (dtype_bytes == 0) throw Error(tensor + ": unsupported dtype " + dtype.dump());
  const json& shape = value["shape"];
  const json& offsets = value["data_offsets"];
  if (!shape.is_array() || !std::all_of(shape.begin(), shape.end(), is_count)) {
    throw Error(tensor + ": shape " + shape.dump() + " is not a list of sizes");
  }
  if (!offsets.is_array() || offsets.size() != 2 || !is_count(offsets[0]) ||
      !is_count(offsets[1])) {
    throw Error(tensor + ": data_offsets " + offsets.dump() + " is not [begin, end]");
  }
  SafetensorsHeader::Entry entry;
  entry.dtype = dtype.get<std::string>();
  uint64_t bytes = dtype_bytes;
  for (const json& size : shape) {
    const uint64_t n = size.get<uint64_t>();
    if (n != 0 && bytes > std::numeric_limits<int64_t>::max() / n) {
      throw Error(tensor + ": shape " + shape.dump() + " is too large");
    }
    bytes *= n;
    entry.shape.push_back(static_cast<int64_t>(n));
  }
  entry.begin = offsets[0].get<uint64_t>();
  entry.end = offsets[1].get<uint64_t>();
  if (entry.begin > entry.end || entry.end > data_size) {
    throw Error(tensor + ": data_offsets " + offsets.dump() + " lie outside the " +
                std::to_string(data_size) + " data bytes (corrupt or truncated file)");
  }
  if (entry.end - entry.begin != bytes) {
    throw Error(tensor + ": data_offsets " + offsets.dump() + " hold " +
                std::to_string(entry.end - entry.begin) + " bytes, but " + entry.dtype + " " +
                shape.dump() + " needs " + std::to_string(bytes));
  }
  return entry;
}

// Like the reference implementation: the tensors tile the data section
// exactly, so that no byte is read as two tensors and none is left over.
void check_tiling(std::vector<std::pair<uint64_t, uint64_t>> ranges, uint64_t data_size,
                  const std::string& where) {
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin != covered) {
      throw Error(where + " is corrupt: tensor data " +
                  std::string(begin < covered ? "overlaps" : "leaves a gap") + " at byte " +
                  std::to_string(std::min(begin, covered)));
    }
    covered = end;
  }
  if (covered != data_size) {
    throw Error(where + " is corrupt: " + std::to_string(data_size - covered) +
                " data bytes belong to no tensor");
  }
}

}  // namespace

SafetensorsHeader read_safetensors_header(std::istream& in, uint64_t file_size,
                                          const std::string& where) {
  SafetensorsHeader result;
  if (file_size < 8) throw Error(where + " is truncated: shorter than its 8-byte header length");
  unsigned char length_bytes[8];
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | length_bytes[i];
  if (header_size > kMaxHeaderBytes || header_size > file_size - 8) {
    throw Error(where + " is corrupt or truncated: its header length (" +
                std::to_string(header_size) + " bytes) exceeds the file (" +
                std::to_string(file_size) + " bytes)");
  }
  std::string header_text(header_size, '\0');
  in.read(header_text.data(), static_cast<std::streamsize>(header_size));
  const json header = internal::parse_json(header_text);
  if (!header.is_object()) throw Error(where + " is corrupt: its header is not a JSON object");
  result.data_start = 8 + header_size;
  const uint64_t data_size = file_size - result.data_start;

  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw Error(where + ": __metadata__ is not an object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) throw Error(where + ": __metadata__." + key + " is not a string");
        result.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    SafetensorsHeader::Entry entry = read_entry(name, value, data_size, where);
    ranges.emplace_back(entry.begin, entry.end);
    result.entries.emplace(name, std::move(entry));
  }
  check_tiling(std::move(ranges), data_size, where);
  return result;
}

std::map<std::string, std::string> read_safetensors_index(const nlohmann::json& index,
                                                          const std::string& where) {
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw Error(where + ": has no weight_map object");
  }
  std::map<std::string, std::string> shard_of;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) {
      throw Error(where + ": weight_map[" + quote_text(tensor) + "] is not a file name");
    }
    const std::string name = shard.get<std::string>();
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
        name.find('\\') != std::string::npos) {
      throw Error(where + ": weight_map[" + quote_text(tensor) + "] is " + quote_text(name) +
                  ", not a file name in the checkpoint directory");
    }
    shard_of[tensor] = name;
  }
  if (shard_of.empty()) throw Error(where + ": weight_map is empty");
  return shard_of;
}

}  // namespace detllm::internal
