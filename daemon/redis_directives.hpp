// Every configuration directive redis-server 7.0.15 accepts, as data.
//
// The daemon reads redis.conf files written for redis-server. A directive slotlab implements is
// applied through the node's own table (node/config.hpp); a directive Redis knows but slotlab does
// not implement is accepted (after the same argument checks Redis makes) and listed once in the log
// as ignored; anything else is a fatal "Bad directive or wrong number of arguments", as in Redis.
// This table is what tells the last two apart. It is transcribed from Redis 7.0.15's src/config.c:
// the standardConfig static_configs[] table (names, aliases, types, bounds, enum values, the
// MULTI_ARG_CONFIG and IMMUTABLE_CONFIG flags; TLS directives included, as Debian builds Redis with
// TLS), plus the directives loadServerConfigFromString() special-cases (include, rename-command,
// user, loadmodule, sentinel) and its deprecated_configs[] (accepted and ignored even by Redis).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace slotlab::daemon {

enum class RedisDirectiveKind : std::uint8_t {
  boolean,            // yes | no
  string,             // any single argument (Redis rewrites it quoted)
  enumeration,        // one of enum_values
  integer,            // a base-10 integer in [min, max]
  octal,              // an octal integer in [min, max] (unixsocketperm)
  memory,             // a memory value (100mb, 1gb...) in [min, max]
  memory_or_percent,  // a memory value or a percentage "N%" (maxmemory-clients)
  special,            // parsed by its own function in Redis (dir, save, bind, ...)
  file_only,          // only valid in a config file (include, rename-command, user, ...)
  deprecated,         // accepted and ignored by Redis itself
};

struct RedisDirective {
  const char* name;
  const char* alias;  // nullptr if none (Redis's slave-* / ziplist-era names)
  RedisDirectiveKind kind;
  bool multi_arg;    // MULTI_ARG_CONFIG: "save 900 1 300 10" or "save '900 1 300 10'"
  bool immutable;    // IMMUTABLE_CONFIG: CONFIG SET refuses it
  bool tls_only;     // exists only in TLS builds (USE_OPENSSL)
  std::int64_t min;  // bounds of numeric kinds
  std::int64_t max;
  const char* enum_values;  // space-separated, for enumeration
  int min_args = 1;         // file_only / deprecated: accepted argument counts (after the name)
  int max_args = 1;
};

std::span<const RedisDirective> redis_directives();
// By name or alias, case-insensitive.
const RedisDirective* find_redis_directive(std::string_view name);

}  // namespace slotlab::daemon
