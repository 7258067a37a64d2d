//! The attribute names of the tables, named once: the codec writes and reads by these,
//! projections list them, and update and condition expressions name them (by placeholder or
//! spelled from the constant), so no name is written twice. The key and index-key names of
//! the key schema live with it in [`crate::store::keys`], which re-exports the ones here it
//! uses as keys. This module imports nothing.

// --- every table ---

/// The partition key of every table but the connections' (there, its `byStore` index's):
/// the store's id.
pub const PARTITION_KEY: &str = "storeId";
/// Optimistic concurrency: every versioned write is conditioned on it.
pub const VERSION: &str = "version";
/// DynamoDB's TTL attribute (Unix seconds).
pub const EXPIRES_AT: &str = "expiresAt";
/// Creation time (Unix milliseconds): requests, master items, items.
pub const CREATED_AT: &str = "createdAt";
/// Time of the last change (Unix milliseconds): requests, master items, items.
pub const UPDATED_AT: &str = "updatedAt";
/// A request's or an item's status (`PENDING`/`NOT_PENDING`; `ACTIVE`, …).
pub const STATUS: &str = "status";

// --- supervisor requests (queue entries and records), and their events ---

pub const REQUEST_ID: &str = "requestId";
pub const REQUEST_TYPE: &str = "requestType";
pub const PRIORITY: &str = "priority";
pub const DETAILS: &str = "details";
pub const STATUS_CODE: &str = "statusCode";
pub const REQUESTED_BY: &str = "requestedBy";
/// A pending request's deadline (the sweeper's index sorts on it).
pub const DEADLINE: &str = "deadline";
/// An answer's decision; on an event, the decision it recorded.
pub const DECISION: &str = "decision";
pub const RESPONDED_BY: &str = "respondedBy";
pub const RESPONDED_AT: &str = "respondedAt";
pub const RESPONSE_NOTE: &str = "responseNote";

// --- idempotency records ---

pub const FINGERPRINT: &str = "fingerprint";
/// The `Location` the first create answered.
pub const LOCATION: &str = "location";
pub const RESPONSE_BODY: &str = "responseBody";

// --- the `preferred-items` table: master items, items, scoring weights ---

pub const MASTER_ITEM_ID: &str = "masterItemId";
pub const NAME: &str = "name";
pub const DESCRIPTION: &str = "description";
/// A master item's currency, and its items' (the same, checked on every write).
pub const CURRENCY: &str = "currency";
/// How many items a master item has.
pub const ITEM_COUNT: &str = "itemCount";
pub const PINNED_ITEM_ID: &str = "pinnedItemId";
pub const PINNED_BY: &str = "pinnedBy";
pub const PINNED_AT: &str = "pinnedAt";
pub const ITEM_ID: &str = "itemId";
pub const VENDOR: &str = "vendor";
pub const PRICE_AMOUNT: &str = "priceAmount";
pub const PRICE_WEIGHT: &str = "priceWeight";
pub const STATUS_WEIGHT: &str = "statusWeight";
pub const ACTIVE_SCORE: &str = "activeScore";
pub const OUT_OF_STOCK_SCORE: &str = "outOfStockScore";

// --- the `supervisor-request-events` table (besides the request's id, version, decision) ---

pub const EVENT_TYPE: &str = "type";
/// When the event happened (Unix milliseconds).
pub const AT: &str = "at";
pub const ACTOR: &str = "actor";
pub const ACTOR_ROLE: &str = "actorRole";
/// The field changes, as JSON.
pub const CHANGES: &str = "changes";
pub const NOTE: &str = "note";

// --- the `websocket-connections` table (besides its keys) ---

/// Who opened the connection.
pub const SUBJECT: &str = "subject";
pub const ROLE: &str = "role";
