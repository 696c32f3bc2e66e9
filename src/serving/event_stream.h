// Internal: a streamed answer (server-sent events, "stream": true) put back
// together as the one response the server would have sent without streaming,
// so that parse_completion checks it like any other.
#ifndef DETLLM_SRC_SERVING_EVENT_STREAM_H_
#define DETLLM_SRC_SERVING_EVENT_STREAM_H_

#include <string>

namespace detllm::internal {

// Reads every `data: {chunk}` event of `body` up to `data: [DONE]`: the
// chunks' text (completions' `text`, chat's `delta.content`) concatenated,
// their logprobs appended in either layout, the last finish_reason, usage and
// timings kept. Returns that response as JSON text (an error chunk as it
// came). Throws detllm::Error, its message begun with `where`, for a chunk
// that is not a JSON object, one with other than one choice, logprobs of
// another layout than the chunks before, or a stream cut before [DONE].
std::string merge_event_stream(const std::string& body, const std::string& where);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_SERVING_EVENT_STREAM_H_
