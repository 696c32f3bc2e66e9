#include "gpt2/safetensors.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB; so do we, before
// allocating one.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeInfo {
  const char* name;
  at::ScalarType type;
  uint64_t bytes;
};
constexpr DtypeInfo kDtypes[] = {{"F64", at::kDouble, 8}, {"F32", at::kFloat, 4},
                                 {"F16", at::kHalf, 2},   {"BF16", at::kBFloat16, 2},
                                 {"I64", at::kLong, 8},   {"I32", at::kInt, 4},
                                 {"I16", at::kShort, 2},  {"I8", at::kChar, 1},
                                 {"U8", at::kByte, 1},    {"BOOL", at::kBool, 1}};

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

// A JSON value that must be a non-negative integer that fits in 63 bits.
bool is_count(const json& value) {
  return value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0);
}

}  // namespace

SafetensorsFile::SafetensorsFile(std::string path) : path_(std::move(path)) {
  const std::string where = "safetensors file '" + path_ + "'";
  std::ifstream in(path_, std::ios::binary | std::ios::ate);
  if (!in) throw Error("cannot read " + where + ": file does not exist or is unreadable");
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  if (file_size < 8) throw Error(where + " is truncated: shorter than its 8-byte header length");
  in.seekg(0);
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
  const json header = json::parse(header_text, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) throw Error(where + " is corrupt: its header is not a JSON object");
  data_start_ = 8 + header_size;
  const uint64_t data_size = file_size - data_start_;

  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw Error(where + ": __metadata__ is not an object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) throw Error(where + ": __metadata__." + key + " is not a string");
        metadata_[key] = text.get<std::string>();
      }
      continue;
    }
    const std::string tensor = where + ", tensor '" + name + "'";
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets")) {
      throw Error(tensor + ": expected an object with dtype, shape and data_offsets");
    }
    const json& dtype = value["dtype"];
    const DtypeInfo* info = dtype.is_string() ? find_dtype(dtype.get<std::string>()) : nullptr;
    if (!info) throw Error(tensor + ": unsupported dtype " + dtype.dump());
    const json& shape = value["shape"];
    const json& offsets = value["data_offsets"];
    if (!shape.is_array() || !std::all_of(shape.begin(), shape.end(), is_count)) {
      throw Error(tensor + ": shape " + shape.dump() + " is not a list of sizes");
    }
    if (!offsets.is_array() || offsets.size() != 2 || !is_count(offsets[0]) ||
        !is_count(offsets[1])) {
      throw Error(tensor + ": data_offsets " + offsets.dump() + " is not [begin, end]");
    }
    Entry entry;
    entry.dtype = info->name;
    uint64_t bytes = info->bytes;
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
    ranges.emplace_back(entry.begin, entry.end);
    entries_.emplace(name, std::move(entry));
  }
  // Like the reference implementation: the tensors tile the data section exactly.
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
