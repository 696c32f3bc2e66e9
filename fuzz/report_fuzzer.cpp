// report.json as `detllm report` reads it: parsed, read into a Report, and
// rendered as text and HTML.
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"
#include "detllm_test/report.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const detllm::fuzz::MemoryFile file(std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const nlohmann::json json = detllm::internal::read_json_file(file.path(), "report");
    const detllm::Report report = detllm::report_from_json(json);
    (void)detllm::render_text(report);
    (void)detllm::render_html(report, nullptr, nullptr, nullptr);
    (void)detllm::to_json(report).dump();
  } catch (const detllm::Error&) {
  }
  return 0;
}
