#include "master/standby.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/framing.h"
#include "common/metrics_writer.h"

namespace agora::master {

void AnswerNotLeader(Transport& transport, const PeerId& peer, wire::Envelope::Reader env,
                     const std::optional<LeaderInfo>& leader) {
  WireMessage msg;
  auto error = NewEnvelope(msg, env.getRequestId()).initError();
  error.setCode(wire::ErrorCode::NOT_LEADER);
  error.setMessage(leader ? absl::StrCat("this master does not lead; the leader is at ", leader->endpoint,
                                         " (a zk:// master address follows whoever leads)")
                          : std::string("this master does not lead, and no master leads yet"));
  if (leader) error.setLeader(leader->endpoint);
  transport.Send(peer, msg);
}

HttpReply StandbyRedirect(const HttpRequest& request, const std::optional<LeaderInfo>& leader) {
  if (!leader || leader->http.empty()) {
    return HttpReply{503, "this master does not lead, and no master leads yet\n", "text/plain"};
  }
  auto encode = [](const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
      if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        absl::StrAppendFormat(&out, "%%%02X", c);
      }
    }
    return out;
  };
  std::string query;
  for (const auto& [key, value] : request.params) {
    absl::StrAppend(&query, query.empty() ? "?" : "&", encode(key), "=", encode(value));
  }
  HttpReply reply{307, absl::StrCat("this master does not lead; the leader is at ", leader->http, "\n"),
                  "text/plain"};
  reply.location = absl::StrCat(leader->http, request.path, query);
  return reply;
}

std::string StandbyMetrics() {
  MetricsWriter w;
  w.One("agora_elected", "gauge", "1 on the leading master (a standby serves 0).", 0);
  return w.Take();
}

}  // namespace agora::master
