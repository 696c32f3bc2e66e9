// Internal: a prompt as run_config.json and a golden's settings store it, so
// that what is read back is byte for byte what ran.
#ifndef DETLLM_SRC_ARTIFACTS_PROMPT_JSON_H_
#define DETLLM_SRC_ARTIFACTS_PROMPT_JSON_H_

#include <nlohmann/json.hpp>
#include <string>

#include "detllm_test/prompt.h"

namespace detllm::internal {

// {"token_ids": [...]} for a prompt given as ids; {"text": "..."} for text.
// JSON strings hold only Unicode, so text that is not valid UTF-8 (bytes
// 0xff 0xfe) is stored also as "text_base64", its exact bytes; "text" then
// holds a readable copy with U+FFFD for each bad byte.
nlohmann::json prompt_json(const Prompt& prompt);

// The prompt prompt_json() stored: "token_ids", else "text_base64", else
// "text". Throws detllm::Error "<where>: ..." for a prompt with none of them,
// or one of the wrong type or bad base64.
Prompt prompt_from_json(const nlohmann::json& stored, const std::string& where);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_ARTIFACTS_PROMPT_JSON_H_
