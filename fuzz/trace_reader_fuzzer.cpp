// The trace reader (JSON Lines, simdjson): any bytes are a trace or a
// detllm::Error naming the file and line; nothing else may escape.
#include "detllm_test/error.h"
#include "detllm_test/trace.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const detllm::fuzz::MemoryFile file(std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const detllm::Trace trace = detllm::read_trace(file.path());
    (void)detllm::to_jsonl(trace);  // what was read can be written back
  } catch (const detllm::Error&) {
  }
  return 0;
}
