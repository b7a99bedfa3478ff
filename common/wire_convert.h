// Copies between wire readers/builders and domain types, so that wire types
// stay at the edge: handlers convert once, core logic never sees capnp.
// Readers may throw kj::Exception on malformed input; call these only inside
// Decode()'s handler.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "capnp/agora.capnp.h"
#include "agora/resources.h"
#include "agora/task.h"

namespace agora {

Resources FromWire(wire::Resources::Reader r);
// InvalidArgument naming `what` when a scalar is not a finite number in
// [0, Resources::kMaxScalar], or a port range is not within 0-65535 in order.
// FromWire alone turns such values into 0 (or drops the range).
absl::Status CheckWireResources(wire::Resources::Reader r, absl::string_view what);
void ToWire(const Resources& r, wire::Resources::Builder out);

TaskSpec FromWire(wire::TaskSpec::Reader t);
void ToWire(const TaskSpec& t, wire::TaskSpec::Builder out);

TaskStatus FromWire(wire::TaskStatus::Reader s);
void ToWire(const TaskStatus& s, wire::TaskStatus::Builder out);

Env FromWire(capnp::List<wire::KeyValue>::Reader kvs);
void ToWire(const Env& kvs, capnp::List<wire::KeyValue>::Builder out);

TaskState FromWire(wire::TaskState s);
wire::TaskState ToWire(TaskState s);

std::vector<std::string> StringsFromWire(capnp::List<capnp::Text>::Reader list);

}  // namespace agora
