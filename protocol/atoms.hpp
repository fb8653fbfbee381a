#pragma once

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

// Every atom of the system in one place (at most 10 characters each).
CAF_BEGIN_TYPE_ID_BLOCK(crdt_store, caf::first_custom_type_id)

/// Clock: stamp local events.
CAF_ADD_ATOM(crdt_store, crdt, stamp_atom, "stamp")
/// Clock: merge received timestamps.
CAF_ADD_ATOM(crdt_store, crdt, recv_atom, "recv")
/// Clock: trie deltas in, trie out.
CAF_ADD_ATOM(crdt_store, crdt, merkle_atom, "merkle")
/// Applier and writer: commit a change or a batch.
CAF_ADD_ATOM(crdt_store, crdt, write_atom, "write")
/// Applier: commit received messages.
CAF_ADD_ATOM(crdt_store, crdt, apply_atom, "apply")
/// Writer: commit everything waiting (sent to itself).
CAF_ADD_ATOM(crdt_store, crdt, flush_atom, "flush")
/// Reader: one record.
CAF_ADD_ATOM(crdt_store, crdt, get_atom, "get")
/// Reader: many records.
CAF_ADD_ATOM(crdt_store, crdt, list_atom, "list")
/// Reader: whether a record exists.
CAF_ADD_ATOM(crdt_store, crdt, exists_atom, "exists")
/// Queue: messages were added to the outbox.
CAF_ADD_ATOM(crdt_store, crdt, enqueue_atom, "enqueue")
/// Any: report status for /health.
CAF_ADD_ATOM(crdt_store, crdt, status_atom, "status")
/// Clock: diff a trie against a group's trie.
CAF_ADD_ATOM(crdt_store, crdt, diff_atom, "diff")
/// Queue and writer: remove acknowledged outbox entries.
CAF_ADD_ATOM(crdt_store, crdt, ack_atom, "ack")
/// Queue and reader: read queued messages.
CAF_ADD_ATOM(crdt_store, crdt, outbox_atom, "outbox")
/// Reader: messages since a timestamp.
CAF_ADD_ATOM(crdt_store, crdt, since_atom, "since")
/// Reader, writer, sync: the config_sync settings.
CAF_ADD_ATOM(crdt_store, crdt, config_atom, "config")
/// Sync: the timer fired.
CAF_ADD_ATOM(crdt_store, crdt, tick_atom, "tick")
/// Sync: the hub answered (or the call failed).
CAF_ADD_ATOM(crdt_store, crdt, reply_atom, "reply")
/// Hub: serve one POST /sync.
CAF_ADD_ATOM(crdt_store, crdt, sync_atom, "sync")
/// Auth: check a password and issue a token.
CAF_ADD_ATOM(crdt_store, crdt, login_atom, "login")
/// Auth: prepare a new account (email free, password hashed).
CAF_ADD_ATOM(crdt_store, crdt, account_atom, "account")
/// Auth: change an account's own password.
CAF_ADD_ATOM(crdt_store, crdt, password_atom, "password")
/// Auth: create the default organization and its admin at start-up.
CAF_ADD_ATOM(crdt_store, crdt, bootstrap_atom, "bootstrap")

  /// Clock: a group's root hash and stream head, taken together.
  CAF_ADD_ATOM(crdt_store, crdt, head_atom, "head")
  /// Clock: compare trie nodes with a group's.
  CAF_ADD_ATOM(crdt_store, crdt, compare_atom, "compare")
  /// Clock: where the own trie differs from a hub's children.
  CAF_ADD_ATOM(crdt_store, crdt, descend_atom, "descend")
  /// Queue, reader: the trie hash of the messages not yet sent to the hub.
  CAF_ADD_ATOM(crdt_store, crdt, unsent_atom, "unsent")
  /// Reader: a page of the bounded sync exchange.
  CAF_ADD_ATOM(crdt_store, crdt, page_atom, "page")
  /// Applier: commit table definitions made on this node.
  CAF_ADD_ATOM(crdt_store, crdt, define_atom, "define")

  /// Writer to feed: a commit stored messages of the own log.
  CAF_ADD_ATOM(crdt_store, crdt, changed_atom, "changed")
  /// Feed: subscribe to, or leave, a table's changes.
  CAF_ADD_ATOM(crdt_store, crdt, subscribe_atom, "subscribe")
  CAF_ADD_ATOM(crdt_store, crdt, leave_atom, "leave")
  /// Feed to session: changes read for its table; reader: a feed page.
  CAF_ADD_ATOM(crdt_store, crdt, feed_atom, "feed")
  /// Connection to session: a stream's queue was written out.
  CAF_ADD_ATOM(crdt_store, crdt, drained_atom, "drained")
  /// Session: time for a feed heartbeat, or a long poll's end.
  CAF_ADD_ATOM(crdt_store, crdt, heartbeat_atom, "heartbeat")

  /// Hub to relay: serve a relayed group's /sync call from PostgreSQL.
  CAF_ADD_ATOM(crdt_store, crdt, relay_atom, "relay")

CAF_END_TYPE_ID_BLOCK(crdt_store)
