// safetensors files as libtorch tensors: read (the header validated first, by
// safetensors_header.cpp) and written.
#include "checkpoint/tensor_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

using nlohmann::json;

struct DtypeInfo {
  const char* name;
  at::ScalarType type;
};
// The libtorch type of each safetensors dtype (sizes: safetensors_dtype_bytes).
constexpr DtypeInfo kDtypes[] = {{"F64", at::kDouble},    {"F32", at::kFloat}, {"F16", at::kHalf},
                                 {"BF16", at::kBFloat16}, {"I64", at::kLong},  {"I32", at::kInt},
                                 {"I16", at::kShort},     {"I8", at::kChar},   {"U8", at::kByte},
                                 {"BOOL", at::kBool}};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const DtypeInfo& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo& find_dtype(at::ScalarType type) {
  for (const DtypeInfo& d : kDtypes)
    if (type == d.type) return d;
  throw Error(std::string("safetensors cannot store dtype ") + c10::toString(type));
}

}  // namespace

SafetensorsFile::SafetensorsFile(std::string path) : path_(std::move(path)) {
  const std::string where = "safetensors file '" + path_ + "'";
  std::ifstream in(path_, std::ios::binary | std::ios::ate);
  if (!in) throw Error("cannot read " + where + ": file does not exist or is unreadable");
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  SafetensorsHeader header = read_safetensors_header(in, file_size, where);
  data_start_ = header.data_start;
  entries_ = std::move(header.entries);
  metadata_ = std::move(header.metadata);
}

at::Tensor SafetensorsFile::read(const std::string& name) const {
  const auto found = entries_.find(name);
  if (found == entries_.end()) {
    throw Error("safetensors file '" + path_ + "' has no tensor '" + name + "'");
  }
  const Entry& entry = found->second;
  at::Tensor tensor =
      at::empty(entry.shape, at::TensorOptions().dtype(find_dtype(entry.dtype)->type));
  std::ifstream in(path_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(data_start_ + entry.begin));
  in.read(static_cast<char*>(tensor.data_ptr()),
          static_cast<std::streamsize>(entry.end - entry.begin));
  if (!in) {
    throw Error("cannot read tensor '" + name + "' from safetensors file '" + path_ +
                "' (the file changed or is unreadable)");
  }
  return tensor;
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& directory) {
  const std::filesystem::path dir(directory);
  const std::string index_path = (dir / "model.safetensors.index.json").string();
  const std::string single_path = (dir / "model.safetensors").string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(index_path, error)) {
    if (!std::filesystem::is_regular_file(single_path, error)) {
      throw Error("checkpoint '" + directory +
                  "' has no weights: neither model.safetensors nor model.safetensors.index.json");
    }
    shards_.emplace_back(single_path);
    for (const auto& [name, entry] : shards_[0].entries()) shard_of_[name] = 0;
    files_ = {single_path};
    return;
  }
  const std::string where = "safetensors index '" + index_path + "'";
  const std::map<std::string, std::string> shard_names =
      read_safetensors_index(read_json_file(index_path, "safetensors index"), where);
  files_ = {index_path};
  std::map<std::string, size_t> shard_index;  // shard name -> index, in name order
  for (const auto& [tensor, shard] : shard_names) shard_index.emplace(shard, 0);
  for (auto& [shard, index] : shard_index) {
    const std::string path = (dir / shard).string();
    if (!std::filesystem::is_regular_file(path, error)) {
      throw Error(where + " maps tensors to " + shard + ", which does not exist");
    }
    index = shards_.size();
    shards_.emplace_back(path);
    files_.push_back(path);
  }
  for (const auto& [tensor, shard] : shard_names) {
    const auto it = shard_index.find(shard);
    if (!shards_[it->second].contains(tensor)) {
      throw Error(where + " maps '" + tensor + "' to " + shard + ", which has no such tensor");
    }
    shard_of_[tensor] = it->second;
  }
}

const SafetensorsCheckpoint::Entry& SafetensorsCheckpoint::entry(const std::string& name) const {
  return shards_.at(shard_of_.at(name)).entries().at(name);
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, shard] : shard_of_) out.push_back(name);
  return out;
}

at::Tensor SafetensorsCheckpoint::read(const std::string& name) const {
  const auto found = shard_of_.find(name);
  if (found == shard_of_.end()) throw Error("the checkpoint has no tensor '" + name + "'");
  return shards_[found->second].read(name);
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    at::Tensor cpu = tensor.to(at::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(cpu.nbytes());
    header[name] = {{"dtype", find_dtype(cpu.scalar_type()).name},
                    {"shape", cpu.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(cpu);
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // aligns the data section
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write safetensors file '" + path + "'");
  uint64_t size = header_text.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((size >> (8 * i)) & 0xff));
  out << header_text;
  for (const at::Tensor& tensor : data) {
    out.write(static_cast<const char*>(tensor.data_ptr()),
              static_cast<std::streamsize>(tensor.nbytes()));
  }
  if (!out.flush()) throw Error("cannot write safetensors file '" + path + "'");
}

}  // namespace detllm::internal
