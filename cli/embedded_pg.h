#pragma once
// The embedded PostgreSQL cluster: the database resv provisions for itself
// under its state directory when none is configured (layout in state.h).
//
// It listens on 127.0.0.1 only (scram-sha-256, role `resv` with a generated
// password, the cluster's bootstrap superuser) and on a unix socket in
// <state>/pg/run (trust: that directory is private to the cluster's owner).
// Its port is chosen free at creation, from 54320 up, and kept in
// <state>/pg/embedded.json with the password. As root, initdb, pg_ctl and
// postgres run as the `postgres` user (through runuser), which owns the data
// and run directories.
#include "cli/context.h"

namespace resv::cli {

struct DbUp {
  EmbeddedDb db;
  bool already_running = false;
  bool created = false;
  int port_moved_from = 0;  // the port it had, when that was taken while it was down
  int migrations_applied = 0;
};

// Creates (first time: initdb, database `resv`), starts (pg_ctl -w; a
// stale postmaster.pid left by a killed server is taken over) and migrates the
// embedded cluster under ctx.state(); idempotent, and serialised with other
// resv processes on the same state directory. Reports progress with
// ctx.out().info(). Usage when a database is configured (--db, env, config
// file): the embedded cluster is then not what commands use. Failed, with the
// server's own error and the log's path, when PostgreSQL cannot be found,
// created or started; Unreachable when it started but cannot be connected to.
Expected<DbUp> embedded_up(const Context& ctx);

// Stops the embedded cluster (pg_ctl stop -m fast: sessions are ended,
// transactions rolled back), waiting up to `timeout_seconds`. Returns true
// when it was running, false when it already was down or was never created.
// Usage when a database is configured; Failed when it does not stop in time.
Expected<bool> embedded_down(const Context& ctx, int timeout_seconds);

// What the embedded cluster is sized to on a machine with `ram_bytes` of
// memory and `cpus` processors (initdb's defaults are 128 MB of shared
// buffers and 100 connections, while each resv-server opens about 25
// sessions): shared_buffers a quarter of the memory, 128 MB to 2 GB (it is a
// development and test cluster beside other programs); max_connections for
// 25 sessions of as many instances as 2 per processor, at least 8, and 50
// for the CLI and tools. Pure.
struct ClusterSize {
  long long shared_buffers_mb = 128;
  int max_connections = 100;
};
ClusterSize cluster_size(long long ram_bytes, int cpus);

// True when the embedded cluster under `state` exists and its postmaster runs
// (pg_ctl status: a pidfile naming a live process).
bool embedded_running(const StateDir& state);

// Its server log (pg_ctl -l), for hints.
fs::path embedded_log(const StateDir& state);

}  // namespace resv::cli
