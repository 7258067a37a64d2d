//! The preferred-items store over aws-sdk-dynamodb, and the one place that knows its keys.
//!
//! Table `preferred-items` (name from `ITEMS_TABLE`):
//!
//! | item | `storeId` (PK) | `sk` (SK) | other keys |
//! | --- | --- | --- | --- |
//! | master item | store id | `MASTER#{masterItemId}` | `masterListKey` = store id (sparse GSI `mastersByStore`) |
//! | item | store id | `MASTER#{masterItemId}#ITEM#{ulid}` | — |
//! | scoring weights | store id | `SCORING_WEIGHTS` | — |
//!
//! A master item sorts just before its candidates, so one Query on
//! `begins_with(sk, "MASTER#{id}")` returns the master item (its currency and pin) and every
//! candidate: the whole input of the preferred-item choice. Ids are fixed-width ULIDs, so one
//! master's prefix never matches another's. An item's id is `{masterItemId}-{ulid}`
//! ([`ItemId`]), so `/items/{itemId}` names the item's key by itself: reads, edits and
//! deletes go straight to it, one request each, with no copy to keep in step. The master
//! item counts its items (`itemCount`): creating an item increments
//! it in the same transaction that checks the master exists and shares the item's currency,
//! and a master item is deleted only while the count is 0, so no item is ever orphaned.
//!
//! | access pattern | DynamoDB call |
//! | --- | --- |
//! | create / read a master item | `PutItem` (`attribute_not_exists`) / `GetItem` |
//! | list master items | `Query` on GSI `mastersByStore`, `masterListKey = store` |
//! | edit a master item | `UpdateItem`, `version = :expected` |
//! | delete a master item | `DeleteItem`, `itemCount = 0` (and `version`), else 409 |
//! | create an item | `TransactWriteItems`: update master (`ADD itemCount 1`, exists, same currency) + put item |
//! | read an item | `GetItem` (consistent) on `MASTER#{m}#ITEM#{ulid}`, both from the item id |
//! | list a master's items | `Query`, `begins_with(sk, "MASTER#{m}")` (the master item comes first) |
//! | edit an item | `UpdateItem`, `version = :expected` (and `currency = :new` for a new price) |
//! | delete an item | `TransactWriteItems`: delete item (exists, `version` if sent) + update master (`ADD itemCount -1`) |
//! | preferred item | `Query`, `begins_with(sk, "MASTER#{m}")`, and `GetItem` weights, concurrently |
//! | pin / unpin | `TransactWriteItems`: check the candidate is eligible + update master / `UpdateItem` |
//! | read / replace weights | `GetItem` / `PutItem` on `SCORING_WEIGHTS` |

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use time::OffsetDateTime;

use crate::catalog::{
    Currency, Item, ItemEdit, ItemStatus, MasterItem, MasterItemEdit, Money, Pin, ScoringWeights,
};
use crate::error::ApiError;
use crate::ids::{ItemId, MasterItemId, StoreId};
use crate::keys::{
    self, MalformedItem, PARTITION_KEY, SORT_KEY, get_n, get_s, get_text, get_time, n, s,
};
use crate::millis::unix_millis;
use crate::store::{StoreError, backoff, classify, classify_transaction, get_consistent};

pub const MASTERS_INDEX: &str = "mastersByStore";
pub const MASTER_LIST_KEY: &str = "masterListKey";
const WEIGHTS_SORT_KEY: &str = "SCORING_WEIGHTS";
const ATTEMPTS: u32 = 5;
/// What every versioned edit sets, and the condition it starts from (see `versioned_update`).
const VERSIONED_SETS: &str = "#v = #v + :one, updatedAt = :now";
const VERSIONED_CONDITION: &str = "attribute_exists(sk) AND #v = :expected";

pub fn master_sort_key(id: &MasterItemId) -> String {
    format!("MASTER#{id}")
}

fn candidate_prefix(id: &MasterItemId) -> String {
    format!("MASTER#{id}#ITEM#")
}

/// `MASTER#{masterItemId}#ITEM#{ulid}`: the item id names its master, so the key needs no read.
fn candidate_sort_key(id: &ItemId) -> String {
    format!("{}{}", candidate_prefix(&id.master()), id.own())
}

type Attributes = HashMap<String, AttributeValue>;

fn master_to_item(master: &MasterItem) -> Attributes {
    let mut item = keys::key(&master.store_id, master_sort_key(&master.master_item_id));
    item.insert(MASTER_LIST_KEY.into(), s(master.store_id.as_str()));
    item.insert("masterItemId".into(), s(&master.master_item_id.to_string()));
    item.insert("name".into(), s(master.name.as_str()));
    if let Some(description) = &master.description {
        item.insert("description".into(), s(description.as_str()));
    }
    item.insert("currency".into(), s(master.currency.as_str()));
    item.insert("itemCount".into(), n(master.item_count));
    item.insert(keys::VERSION.into(), n(master.version));
    item.insert("createdAt".into(), n(unix_millis(master.created_at)));
    item.insert("updatedAt".into(), n(unix_millis(master.updated_at)));
    item
}

fn master_from_item(item: &Attributes) -> Result<MasterItem, MalformedItem> {
    let pin = match item.get("pinnedItemId") {
        None => None,
        Some(_) => Some(Pin {
            item_id: ItemId::parse(get_s(item, "pinnedItemId")?)
                .map_err(|_| MalformedItem("pinnedItemId"))?,
            pinned_by: get_s(item, "pinnedBy")?.to_owned(),
            pinned_at: get_time(item, "pinnedAt")?,
        }),
    };
    Ok(MasterItem {
        store_id: StoreId::parse(get_s(item, PARTITION_KEY)?)
            .map_err(|_| MalformedItem(PARTITION_KEY))?,
        master_item_id: MasterItemId::parse(get_s(item, "masterItemId")?)
            .map_err(|_| MalformedItem("masterItemId"))?,
        name: get_text(item, "name")?,
        description: match item.get("description") {
            None => None,
            Some(_) => Some(get_text(item, "description")?),
        },
        currency: currency(item)?,
        pin,
        item_count: get_n(item, "itemCount")?,
        version: get_n(item, keys::VERSION)?,
        created_at: get_time(item, "createdAt")?,
        updated_at: get_time(item, "updatedAt")?,
    })
}

fn currency(item: &Attributes) -> Result<Currency, MalformedItem> {
    Currency::parse(get_s(item, "currency")?).ok_or(MalformedItem("currency"))
}

fn item_attributes(entry: &Item) -> Attributes {
    let mut item = keys::key(&entry.store_id, candidate_sort_key(&entry.item_id));
    item.insert("itemId".into(), s(&entry.item_id.to_string()));
    item.insert("vendor".into(), s(entry.vendor.as_str()));
    item.insert("priceAmount".into(), n(entry.price.amount()));
    item.insert("currency".into(), s(entry.price.currency().as_str()));
    item.insert("status".into(), s(entry.status.as_str()));
    item.insert(keys::VERSION.into(), n(entry.version));
    item.insert("createdAt".into(), n(unix_millis(entry.created_at)));
    item.insert("updatedAt".into(), n(unix_millis(entry.updated_at)));
    item
}

fn item_from_attributes(item: &Attributes) -> Result<Item, MalformedItem> {
    Ok(Item {
        store_id: StoreId::parse(get_s(item, PARTITION_KEY)?)
            .map_err(|_| MalformedItem(PARTITION_KEY))?,
        item_id: ItemId::parse(get_s(item, "itemId")?).map_err(|_| MalformedItem("itemId"))?,
        vendor: get_text(item, "vendor")?,
        price: Money::new(get_n(item, "priceAmount")?, currency(item)?)
            .map_err(|_| MalformedItem("priceAmount"))?,
        status: ItemStatus::parse(get_s(item, "status")?).ok_or(MalformedItem("status"))?,
        version: get_n(item, keys::VERSION)?,
        created_at: get_time(item, "createdAt")?,
        updated_at: get_time(item, "updatedAt")?,
    })
}

fn weights_from_item(item: &Attributes) -> Result<ScoringWeights, MalformedItem> {
    Ok(ScoringWeights {
        price_weight: get_n(item, "priceWeight")?,
        status_weight: get_n(item, "statusWeight")?,
        active_score: get_n(item, "activeScore")?,
        out_of_stock_score: get_n(item, "outOfStockScore")?,
    })
}

/// Why each item of a cancelled transaction failed, with the item as it was (when asked).
struct Cancelled(Vec<(Option<String>, Option<Attributes>)>);

impl Cancelled {
    fn failed(&self, index: usize) -> Option<Option<&Attributes>> {
        match self.0.get(index) {
            Some((Some(code), item)) if code == "ConditionalCheckFailed" => Some(item.as_ref()),
            _ => None,
        }
    }
}

fn malformed(error: MalformedItem) -> ApiError {
    StoreError::from(error).into()
}

pub const MASTER_NOT_FOUND: ApiError = ApiError::NotFound("master item not found");
pub const ITEM_NOT_FOUND: ApiError = ApiError::NotFound("item not found");

#[derive(Clone, Debug)]
pub struct CatalogStore {
    client: Client,
    table: String,
}

impl CatalogStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn get(&self, store: &StoreId, sort_key: String) -> Result<Option<Attributes>, ApiError> {
        Ok(get_consistent(&self.client, &self.table, store, sort_key).await?)
    }

    /// Runs a transaction, retrying transaction conflicts with backoff; a cancellation for
    /// failed conditions comes back with its reasons for the caller to interpret.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Cancelled>, ApiError> {
        for attempt in 1..=ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(Ok(())),
                Err(error) => error,
            };
            if let SdkError::ServiceError(service) = &error
                && let TransactWriteItemsError::TransactionCanceledException(cancelled) =
                    service.err()
            {
                let reasons: Vec<(Option<String>, Option<Attributes>)> = cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|r| (r.code().map(str::to_owned), r.item().cloned()))
                    .collect();
                let codes: Vec<&str> = reasons.iter().filter_map(|(c, _)| c.as_deref()).collect();
                if codes.contains(&"ConditionalCheckFailed") {
                    return Ok(Err(Cancelled(reasons)));
                }
                if codes.contains(&"TransactionConflict") && attempt < ATTEMPTS {
                    backoff(attempt).await;
                    continue;
                }
            }
            return Err(classify_transaction(error).into());
        }
        Err(StoreError::TransactionConflict.into())
    }

    fn put(&self, item: Attributes, condition: &str) -> TransactWriteItem {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression(condition)
                    .build()
                    .expect("table, item and condition are set"),
            )
            .build()
    }

    /// An UpdateItem of one versioned item: bumps `version` and `updatedAt` (with
    /// [`VERSIONED_SETS`]), answers the new item, and the old one when a condition fails.
    /// The caller adds its own SETs and a condition containing [`VERSIONED_CONDITION`].
    fn versioned_update(
        &self,
        store: &StoreId,
        sort_key: String,
        expected: u64,
        now: OffsetDateTime,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::key(store, sort_key)))
            .expression_attribute_names("#v", keys::VERSION)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expected", n(expected))
            .expression_attribute_values(":now", n(unix_millis(now)))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    /// Counts an item in or out of its master, which must exist (and, when adding, be in
    /// the item's currency: `Some(currency)`).
    fn count_item(
        &self,
        store: &StoreId,
        master: &MasterItemId,
        delta: i64,
        currency: Option<Currency>,
    ) -> TransactWriteItem {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::key(store, master_sort_key(master))))
            .update_expression("ADD itemCount :delta")
            .expression_attribute_values(":delta", n(delta))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        update = match currency {
            Some(currency) => update
                .condition_expression("attribute_exists(sk) AND currency = :currency")
                .expression_attribute_values(":currency", s(currency.as_str())),
            None => update.condition_expression("attribute_exists(sk)"),
        };
        TransactWriteItem::builder()
            .update(update.build().expect("table, key and expression are set"))
            .build()
    }

    pub async fn create_master(&self, master: &MasterItem) -> Result<(), ApiError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(master_to_item(master)))
            .condition_expression("attribute_not_exists(sk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e).into())
    }

    pub async fn get_master(
        &self,
        store: &StoreId,
        id: &MasterItemId,
    ) -> Result<Option<MasterItem>, ApiError> {
        self.get(store, master_sort_key(id))
            .await?
            .map(|item| master_from_item(&item).map_err(malformed))
            .transpose()
    }

    /// A page of master items in creation order, and the sort key to continue after.
    pub async fn list_masters(
        &self,
        store: &StoreId,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<MasterItem>, Option<String>), ApiError> {
        let start = after.map(|sort_key| {
            let mut key = keys::key(store, sort_key);
            key.insert(MASTER_LIST_KEY.into(), s(store.as_str()));
            key
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(MASTERS_INDEX)
            .key_condition_expression("#list = :store")
            .expression_attribute_names("#list", MASTER_LIST_KEY)
            .expression_attribute_values(":store", s(store.as_str()))
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let mut items = output.items.unwrap_or_default();
        let next = page_end(&mut items, limit, output.last_evaluated_key)?;
        let masters = items
            .iter()
            .map(master_from_item)
            .collect::<Result<Vec<_>, _>>()
            .map_err(malformed)?;
        Ok((masters, next))
    }

    /// Applies `edit` if the master item is at `expected` version; one conditional update.
    pub async fn update_master(
        &self,
        store: &StoreId,
        id: &MasterItemId,
        edit: &MasterItemEdit,
        expected: u64,
        now: OffsetDateTime,
    ) -> Result<MasterItem, ApiError> {
        let mut sets = vec![VERSIONED_SETS];
        let mut update = self
            .versioned_update(store, master_sort_key(id), expected, now)
            .condition_expression(VERSIONED_CONDITION);
        if let Some(name) = &edit.name {
            sets.push("#name = :name");
            update = update
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name.as_str()));
        }
        if let Some(description) = &edit.description {
            sets.push("description = :description");
            update = update.expression_attribute_values(":description", s(description.as_str()));
        }
        match update
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
        {
            Ok(output) => {
                master_from_item(&output.attributes.unwrap_or_default()).map_err(malformed)
            }
            Err(error) => Err(match conditional_old_item(&error) {
                Some(None) => MASTER_NOT_FOUND,
                Some(Some(old)) => ApiError::PreconditionFailed {
                    current: get_n(old, keys::VERSION).map_err(malformed)?,
                },
                None => classify(error).into(),
            }),
        }
    }

    /// Deletes a master item that has no items (409 otherwise), at `expected` version if
    /// given.
    pub async fn delete_master(
        &self,
        store: &StoreId,
        id: &MasterItemId,
        expected: Option<u64>,
    ) -> Result<(), ApiError> {
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::key(store, master_sort_key(id))))
            .expression_attribute_values(":zero", n(0))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        delete = match expected {
            Some(version) => delete
                .condition_expression("attribute_exists(sk) AND itemCount = :zero AND #v = :v")
                .expression_attribute_names("#v", keys::VERSION)
                .expression_attribute_values(":v", n(version)),
            None => delete.condition_expression("attribute_exists(sk) AND itemCount = :zero"),
        };
        match delete.send().await {
            Ok(_) => Ok(()),
            Err(error) => Err(match conditional_old_item(&error) {
                Some(None) => MASTER_NOT_FOUND,
                Some(Some(old)) => {
                    let master = master_from_item(old).map_err(malformed)?;
                    if master.item_count > 0 {
                        ApiError::conflict(
                            "master_item_has_items",
                            format!(
                                "the master item still has {} item(s); delete them first",
                                master.item_count
                            ),
                        )
                    } else {
                        ApiError::PreconditionFailed {
                            current: master.version,
                        }
                    }
                }
                None => classify(error).into(),
            }),
        }
    }

    /// Adds an item under its master item, in one transaction with the master's count.
    pub async fn create_item(&self, item: &Item) -> Result<(), ApiError> {
        const NEW: &str = "attribute_not_exists(sk)";
        let items = vec![
            self.count_item(
                &item.store_id,
                &item.item_id.master(),
                1,
                Some(item.price.currency()),
            ),
            self.put(item_attributes(item), NEW),
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(cancelled) => Err(match cancelled.failed(0) {
                Some(None) => MASTER_NOT_FOUND,
                Some(Some(master)) => currency_mismatch(currency(master).map_err(malformed)?),
                None => StoreError::Internal("new item ids collided".into()).into(),
            }),
        }
    }

    pub async fn get_item(&self, store: &StoreId, id: &ItemId) -> Result<Option<Item>, ApiError> {
        self.get(store, candidate_sort_key(id))
            .await?
            .map(|item| item_from_attributes(&item).map_err(malformed))
            .transpose()
    }

    /// A Query for the master item and its candidates: `MASTER#{id}` sorts just before every
    /// `MASTER#{id}#ITEM#…`.
    fn master_query(
        &self,
        store: &StoreId,
        master: &MasterItemId,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#sk", SORT_KEY)
            .expression_attribute_values(":pk", s(store.as_str()))
            .expression_attribute_values(":prefix", s(&master_sort_key(master)))
    }

    /// A page of a master item's items, in creation order; `None` if the master item does
    /// not exist. The first page's Query also reads the master item, which sorts first.
    pub async fn list_items(
        &self,
        store: &StoreId,
        master: &MasterItemId,
        after: Option<String>,
        limit: usize,
    ) -> Result<Option<(Vec<Item>, Option<String>)>, ApiError> {
        let first_page = after.is_none();
        let output = self
            .master_query(store, master)
            .limit(i32::try_from(limit + 1 + usize::from(first_page)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(after.map(|sort_key| keys::key(store, sort_key)))
            .send()
            .await
            .map_err(classify)?;
        let mut items = output.items.unwrap_or_default();
        if first_page {
            let master_key = master_sort_key(master);
            match items.first().map(keys::sort_key_of) {
                Some(Ok(sort_key)) if sort_key == master_key => {
                    items.remove(0);
                }
                _ => return Ok(None),
            }
        }
        let next = page_end(&mut items, limit, output.last_evaluated_key)?;
        let items = items
            .iter()
            .map(item_from_attributes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(malformed)?;
        Ok(Some((items, next)))
    }

    /// The master item and all its candidates: one Query (more only past 1 MB of items).
    pub async fn master_with_candidates(
        &self,
        store: &StoreId,
        master: &MasterItemId,
    ) -> Result<Option<(MasterItem, Vec<Item>)>, ApiError> {
        let mut start = None;
        let mut rows = Vec::new();
        loop {
            let output = self
                .master_query(store, master)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            rows.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        let mut rows = rows.into_iter();
        let Some(first) = rows.next() else {
            return Ok(None);
        };
        let master = master_from_item(&first).map_err(malformed)?;
        let items = rows
            .map(|row| item_from_attributes(&row))
            .collect::<Result<Vec<_>, _>>()
            .map_err(malformed)?;
        Ok(Some((master, items)))
    }

    /// Edits an item with one conditional UpdateItem: it must exist at version `expected`,
    /// and a new price must be in the item's currency, which is its master's (fixed for
    /// the master's life), so no other item needs reading.
    pub async fn update_item(
        &self,
        store: &StoreId,
        id: &ItemId,
        edit: &ItemEdit,
        expected: u64,
        now: OffsetDateTime,
    ) -> Result<Item, ApiError> {
        let mut sets = vec![VERSIONED_SETS];
        let mut condition = String::from(VERSIONED_CONDITION);
        let mut update = self.versioned_update(store, candidate_sort_key(id), expected, now);
        if let Some(vendor) = &edit.vendor {
            sets.push("vendor = :vendor");
            update = update.expression_attribute_values(":vendor", s(vendor.as_str()));
        }
        if let Some(price) = &edit.price {
            sets.push("priceAmount = :amount");
            condition.push_str(" AND currency = :currency");
            update = update
                .expression_attribute_values(":amount", n(price.amount()))
                .expression_attribute_values(":currency", s(price.currency().as_str()));
        }
        if let Some(status) = edit.status {
            sets.push("#status = :status");
            update = update
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()));
        }
        let result = update
            .condition_expression(condition)
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await;
        match result {
            Ok(output) => {
                item_from_attributes(&output.attributes.unwrap_or_default()).map_err(malformed)
            }
            Err(error) => Err(match conditional_old_item(&error) {
                Some(None) => ITEM_NOT_FOUND,
                Some(Some(old)) => {
                    let current = get_n(old, keys::VERSION).map_err(malformed)?;
                    if current == expected {
                        currency_mismatch(currency(old).map_err(malformed)?)
                    } else {
                        ApiError::PreconditionFailed { current }
                    }
                }
                None => classify(error).into(),
            }),
        }
    }

    /// Deletes an item and counts it out of its master, in one transaction; `expected`,
    /// when given, must be its version.
    pub async fn delete_item(
        &self,
        store: &StoreId,
        id: &ItemId,
        expected: Option<u64>,
    ) -> Result<(), ApiError> {
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(keys::key(store, candidate_sort_key(id))))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        delete = match expected {
            Some(version) => delete
                .condition_expression("attribute_exists(sk) AND #v = :v")
                .expression_attribute_names("#v", keys::VERSION)
                .expression_attribute_values(":v", n(version)),
            None => delete.condition_expression("attribute_exists(sk)"),
        };
        let items = vec![
            TransactWriteItem::builder()
                .delete(delete.build().expect("table, key and condition are set"))
                .build(),
            self.count_item(store, &id.master(), -1, None),
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(cancelled) => Err(match cancelled.failed(0) {
                Some(None) => ITEM_NOT_FOUND,
                Some(Some(old)) => ApiError::PreconditionFailed {
                    current: get_n(old, keys::VERSION).map_err(malformed)?,
                },
                // The item existed but its master did not: the count keeps that from happening.
                None => StoreError::Internal("an item outlived its master item".into()).into(),
            }),
        }
    }

    /// Pins an eligible candidate of the master item.
    pub async fn pin(
        &self,
        store: &StoreId,
        master: &MasterItemId,
        pin: &Pin,
    ) -> Result<(), ApiError> {
        if pin.item_id.master() != *master {
            return Err(not_a_candidate());
        }
        let candidate = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(keys::key(store, candidate_sort_key(&pin.item_id))))
            .condition_expression("attribute_exists(sk) AND #status IN (:active, :out)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s(ItemStatus::Active.as_str()))
            .expression_attribute_values(":out", s(ItemStatus::OutOfStock.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, key and condition are set");
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::key(store, master_sort_key(master))))
            .update_expression(
                "SET pinnedItemId = :item, pinnedBy = :by, pinnedAt = :at, #v = #v + :one, updatedAt = :at",
            )
            .condition_expression("attribute_exists(sk)")
            .expression_attribute_names("#v", keys::VERSION)
            .expression_attribute_values(":item", s(&pin.item_id.to_string()))
            .expression_attribute_values(":by", s(&pin.pinned_by))
            .expression_attribute_values(":at", n(unix_millis(pin.pinned_at)))
            .expression_attribute_values(":one", n(1))
            .build()
            .expect("table, key and expression are set");
        let items = vec![
            TransactWriteItem::builder()
                .condition_check(candidate)
                .build(),
            TransactWriteItem::builder().update(update).build(),
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(cancelled) => Err(match (cancelled.failed(1), cancelled.failed(0)) {
                (Some(_), _) => MASTER_NOT_FOUND,
                (None, Some(None)) => not_a_candidate(),
                (None, Some(Some(_))) => ApiError::conflict(
                    "item_not_eligible",
                    "an INACTIVE or DISCONTINUED item cannot be pinned",
                ),
                (None, None) => {
                    StoreError::Internal("pin cancelled without a reason".into()).into()
                }
            }),
        }
    }

    /// Removes the pin, if any. 404 if the master item does not exist.
    pub async fn unpin(
        &self,
        store: &StoreId,
        master: &MasterItemId,
        now: OffsetDateTime,
    ) -> Result<(), ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::key(store, master_sort_key(master))))
            .update_expression(
                "REMOVE pinnedItemId, pinnedBy, pinnedAt SET #v = #v + :one, updatedAt = :now",
            )
            .condition_expression("attribute_exists(sk)")
            .expression_attribute_names("#v", keys::VERSION)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(unix_millis(now)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => Err(match classify(error) {
                StoreError::ConditionFailed => MASTER_NOT_FOUND,
                other => other.into(),
            }),
        }
    }

    /// The store's weights, or the defaults if it never set any.
    pub async fn weights(&self, store: &StoreId) -> Result<ScoringWeights, ApiError> {
        match self.get(store, WEIGHTS_SORT_KEY.into()).await? {
            Some(item) => weights_from_item(&item).map_err(malformed),
            None => Ok(ScoringWeights::default()),
        }
    }

    pub async fn put_weights(
        &self,
        store: &StoreId,
        weights: &ScoringWeights,
    ) -> Result<(), ApiError> {
        let mut item = keys::key(store, WEIGHTS_SORT_KEY.into());
        item.insert("priceWeight".into(), n(weights.price_weight));
        item.insert("statusWeight".into(), n(weights.status_weight));
        item.insert("activeScore".into(), n(weights.active_score));
        item.insert("outOfStockScore".into(), n(weights.out_of_stock_score));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e).into())
    }
}

fn not_a_candidate() -> ApiError {
    ApiError::invalid_field("itemId", "is not an item of this master item")
}

fn currency_mismatch(master_currency: Currency) -> ApiError {
    ApiError::invalid_field(
        "price.currency",
        format!(
            "must be {master_currency}, the master item's currency: prices in different currencies are never compared"
        ),
    )
}

/// For a failed conditional write: `Some(old item, if it existed)`; `None` for other errors.
fn conditional_old_item<E, R>(error: &SdkError<E, R>) -> Option<Option<&Attributes>>
where
    E: ConditionalFailure,
{
    match error {
        SdkError::ServiceError(service) => service.err().conditional_failure(),
        _ => None,
    }
}

/// The conditional-check failures of single-item writes, with the item as it was.
trait ConditionalFailure {
    fn conditional_failure(&self) -> Option<Option<&Attributes>>;
}

impl ConditionalFailure for aws_sdk_dynamodb::operation::update_item::UpdateItemError {
    fn conditional_failure(&self) -> Option<Option<&Attributes>> {
        match self {
            Self::ConditionalCheckFailedException(e) => Some(e.item()),
            _ => None,
        }
    }
}

impl ConditionalFailure for aws_sdk_dynamodb::operation::delete_item::DeleteItemError {
    fn conditional_failure(&self) -> Option<Option<&Attributes>> {
        match self {
            Self::ConditionalCheckFailedException(e) => Some(e.item()),
            _ => None,
        }
    }
}

/// Trims a Query's items to `limit` and says where the next page starts: after the last
/// kept item when more were read, or at DynamoDB's own page end.
fn page_end(
    items: &mut Vec<Attributes>,
    limit: usize,
    last_evaluated: Option<Attributes>,
) -> Result<Option<String>, ApiError> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(keys::sort_key_of).transpose()
    } else {
        last_evaluated.as_ref().map(keys::sort_key_of).transpose()
    };
    next.map(|key| key.map(str::to_owned)).map_err(malformed)
}
