//! The preferred-items store over aws-sdk-dynamodb: each access pattern of
//! [`crate::store::keys`]'s `preferred-items` table as one method.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use time::OffsetDateTime;

use crate::domain::catalog::{
    Currency, Item, ItemEdit, ItemStatus, MasterItem, MasterItemEdit, Pin, ScoringWeights,
};
use crate::domain::ids::{ItemId, MasterItemId, StoreId};
use crate::domain::millis::unix_millis;
use crate::store::attributes::{
    ACTIVE_SCORE, CURRENCY, DESCRIPTION, ITEM_COUNT, NAME, OUT_OF_STOCK_SCORE, PINNED_AT,
    PINNED_BY, PINNED_ITEM_ID, PRICE_AMOUNT, PRICE_WEIGHT, STATUS, STATUS_WEIGHT, UPDATED_AT,
    VENDOR,
};
use crate::store::codec::{
    Attributes, currency, get_n, item_from_attributes, master_from_item, n, s, weights_from_item,
};
use crate::store::idempotency::{self, CreateError, IdempotencyKey, IdempotencyRecord};
use crate::store::keys::{
    self, MASTER_LIST_KEY, MASTERS_INDEX, PARTITION_KEY, SORT_KEY, WEIGHTS_SORT_KEY,
    candidate_sort_key, master_sort_key,
};
use crate::store::table::{Entity, StoreError, Table, classify, query_all};

const ATTEMPTS: u32 = 5;
/// What every versioned edit sets (see `versioned_update`).
fn versioned_sets() -> String {
    format!("#v = #v + :one, {UPDATED_AT} = :now")
}

/// The condition of a versioned edit: the item exists, at `expected` when one is given
/// (`If-Match: *` gives none).
fn versioned_condition(expected: Option<u64>) -> String {
    match expected {
        Some(_) => format!("attribute_exists({SORT_KEY}) AND #v = :expected"),
        None => keys::exists(),
    }
}

pub const MASTER_NOT_FOUND: StoreError = StoreError::NotFound(Entity::MasterItem);
pub const ITEM_NOT_FOUND: StoreError = StoreError::NotFound(Entity::Item);

/// What the catalogue refuses, in its own words, or what the table said.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A master item is deleted only once it has no items.
    #[error("the master item still has {items} item(s)")]
    MasterItemHasItems { items: u32 },
    /// A price in another currency than its master item's.
    #[error("price not in {master_currency}")]
    CurrencyMismatch { master_currency: Currency },
    /// The item pinned is not a candidate of that master item.
    #[error("not a candidate of this master item")]
    NotACandidate,
    /// `INACTIVE` and `DISCONTINUED` items cannot be pinned.
    #[error("item not eligible")]
    ItemNotEligible,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::store::codec::MalformedItem> for CatalogError {
    fn from(error: crate::store::codec::MalformedItem) -> Self {
        Self::Store(error.into())
    }
}

impl CreateError for CatalogError {
    fn key_taken(&self) -> bool {
        matches!(self, Self::Store(error) if error.key_taken())
    }
}

#[derive(Clone, Debug)]
pub struct CatalogStore {
    table: Table,
}

impl CatalogStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        self.table.name()
    }

    pub fn client(&self) -> &Client {
        self.table.client()
    }

    /// An UpdateItem of one versioned item: bumps `version` and `updatedAt` (with
    /// [`versioned_sets`]), answers the new item, and the old one when a condition fails.
    /// The caller adds its own SETs and a condition containing [`versioned_condition`]'s.
    fn versioned_update(
        &self,
        store: &StoreId,
        sort_key: String,
        expected: Option<u64>,
        now: OffsetDateTime,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let update = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(keys::key(store, sort_key)))
            .expression_attribute_names("#v", keys::VERSION)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(unix_millis(now)));
        match expected {
            Some(version) => update.expression_attribute_values(":expected", n(version)),
            None => update,
        }
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
            .table_name(self.table.name())
            .set_key(Some(keys::key(store, master_sort_key(master))))
            .update_expression(format!("ADD {ITEM_COUNT} :delta"))
            .expression_attribute_values(":delta", n(delta))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        update = match currency {
            Some(currency) => update
                .condition_expression(format!(
                    "attribute_exists({SORT_KEY}) AND {CURRENCY} = :currency"
                ))
                .expression_attribute_values(":currency", s(currency.as_str())),
            None => update.condition_expression(keys::exists()),
        };
        TransactWriteItem::builder()
            .update(update.build().expect("table, key and expression are set"))
            .build()
    }

    /// One PutItem; with an idempotency record, one transaction putting both
    /// (`ConditionFailed`: the key is taken).
    pub async fn create_master(
        &self,
        master: &MasterItem,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        let new = keys::absent();
        if let Some(record) = idempotency {
            return self
                .table
                .transact(vec![
                    self.table.put(keys::master_item(master), &new, None),
                    idempotency::put(&self.table, &master.store_id, record),
                ])
                .await;
        }
        self.table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(keys::master_item(master)))
            .condition_expression(new)
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// The record an earlier create left under `key`, unless its window had passed at `now`.
    pub async fn idempotency_record(
        &self,
        store: &StoreId,
        key: &IdempotencyKey,
        now: OffsetDateTime,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        idempotency::find(&self.table, store, key, now).await
    }

    pub async fn get_master(
        &self,
        store: &StoreId,
        id: &MasterItemId,
    ) -> Result<Option<MasterItem>, StoreError> {
        self.table
            .get(store, master_sort_key(id))
            .await?
            .map(|item| master_from_item(&item).map_err(StoreError::from))
            .transpose()
    }

    /// A page of master items in creation order, and the sort key to continue after.
    pub async fn list_masters(
        &self,
        store: &StoreId,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<MasterItem>, Option<String>), StoreError> {
        if after
            .as_deref()
            .is_some_and(|key| !keys::is_master_sort_key(key))
        {
            return Err(StoreError::InvalidCursor);
        }
        let start = after.map(|sort_key| {
            let mut key = keys::key(store, sort_key);
            key.insert(MASTER_LIST_KEY.into(), s(store.as_str()));
            key
        });
        let output = self
            .table
            .client()
            .query()
            .table_name(self.table.name())
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
            .map_err(StoreError::from)?;
        Ok((masters, next))
    }

    /// Applies `edit` if the master item is at `expected` version; one conditional update.
    pub async fn update_master(
        &self,
        store: &StoreId,
        id: &MasterItemId,
        edit: &MasterItemEdit,
        expected: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<MasterItem, StoreError> {
        let mut sets = vec![versioned_sets()];
        let mut update = self
            .versioned_update(store, master_sort_key(id), expected, now)
            .condition_expression(versioned_condition(expected));
        if let Some(name) = &edit.name {
            sets.push("#name = :name".into());
            update = update
                .expression_attribute_names("#name", NAME)
                .expression_attribute_values(":name", s(name.as_str()));
        }
        if let Some(description) = &edit.description {
            sets.push(format!("{DESCRIPTION} = :description"));
            update = update.expression_attribute_values(":description", s(description.as_str()));
        }
        match update
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
        {
            Ok(output) => {
                master_from_item(&output.attributes.unwrap_or_default()).map_err(StoreError::from)
            }
            Err(error) => Err(match conditional_old_item(&error) {
                Some(None) => MASTER_NOT_FOUND,
                Some(Some(old)) => StoreError::VersionMismatch {
                    current: get_n(old, keys::VERSION)?,
                },
                None => classify(error),
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
    ) -> Result<(), CatalogError> {
        let mut delete = self
            .table
            .client()
            .delete_item()
            .table_name(self.table.name())
            .set_key(Some(keys::key(store, master_sort_key(id))))
            .expression_attribute_values(":zero", n(0))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        delete = match expected {
            Some(version) => delete
                .condition_expression(format!(
                    "attribute_exists({SORT_KEY}) AND {ITEM_COUNT} = :zero AND #v = :v"
                ))
                .expression_attribute_names("#v", keys::VERSION)
                .expression_attribute_values(":v", n(version)),
            None => delete.condition_expression(format!(
                "attribute_exists({SORT_KEY}) AND {ITEM_COUNT} = :zero"
            )),
        };
        match delete.send().await {
            Ok(_) => Ok(()),
            Err(error) => Err(match conditional_old_item(&error) {
                Some(None) => MASTER_NOT_FOUND.into(),
                Some(Some(old)) => {
                    let master = master_from_item(old).map_err(StoreError::from)?;
                    if master.item_count > 0 {
                        CatalogError::MasterItemHasItems {
                            items: master.item_count,
                        }
                    } else {
                        StoreError::VersionMismatch {
                            current: master.version,
                        }
                        .into()
                    }
                }
                None => classify(error).into(),
            }),
        }
    }

    /// Adds an item under its master item, in one transaction with the master's count.
    pub async fn create_item(
        &self,
        item: &Item,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), CatalogError> {
        let mut items = vec![
            self.count_item(
                &item.store_id,
                &item.item_id.master(),
                1,
                Some(item.price.currency()),
            ),
            self.table
                .put(keys::candidate_item(item), &keys::absent(), None),
        ];
        if let Some(record) = idempotency {
            items.push(idempotency::put(&self.table, &item.store_id, record));
        }
        match self.table.transact_retrying(items, ATTEMPTS).await {
            Ok(()) => Ok(()),
            // The key is taken: the caller's protocol decides (replay or refuse).
            Err(StoreError::ConditionFailed(cancelled)) if cancelled.at(2).is_some() => {
                Err(StoreError::ConditionFailed(cancelled).into())
            }
            Err(StoreError::ConditionFailed(cancelled)) => Err(match cancelled.at(0) {
                Some(None) => MASTER_NOT_FOUND.into(),
                Some(Some(master)) => CatalogError::CurrencyMismatch {
                    master_currency: currency(master)?,
                },
                None => StoreError::Internal("new item ids collided".into()).into(),
            }),
            Err(other) => Err(other.into()),
        }
    }

    pub async fn get_item(&self, store: &StoreId, id: &ItemId) -> Result<Option<Item>, StoreError> {
        self.table
            .get(store, candidate_sort_key(id))
            .await?
            .map(|item| item_from_attributes(&item).map_err(StoreError::from))
            .transpose()
    }

    /// A Query for the master item and its candidates: `MASTER#{id}` sorts just before every
    /// `MASTER#{id}#ITEM#…`.
    fn master_query(
        &self,
        store: &StoreId,
        master: &MasterItemId,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.table
            .client()
            .query()
            .table_name(self.table.name())
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
        status: Option<ItemStatus>,
    ) -> Result<Option<(Vec<Item>, Option<String>)>, StoreError> {
        if after
            .as_deref()
            .is_some_and(|key| !keys::is_candidate_sort_key_of(key, master))
        {
            return Err(StoreError::InvalidCursor);
        }
        let first_page = after.is_none();
        let mut query = self
            .master_query(store, master)
            .limit(i32::try_from(limit + 1 + usize::from(first_page)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(after.map(|sort_key| keys::key(store, sort_key)));
        if let Some(status) = status {
            // In DynamoDB, after the key condition; the master item (no status) still comes
            // first, so a missing master is still told from an empty list.
            query = query
                .filter_expression("attribute_not_exists(#status) OR #status = :status")
                .expression_attribute_names("#status", STATUS)
                .expression_attribute_values(":status", s(status.as_str()));
        }
        let output = query.send().await.map_err(classify)?;
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
            .map_err(StoreError::from)?;
        Ok(Some((items, next)))
    }

    /// The master item and all its candidates: one Query (more only past 1 MB of items).
    pub async fn master_with_candidates(
        &self,
        store: &StoreId,
        master: &MasterItemId,
    ) -> Result<Option<(MasterItem, Vec<Item>)>, StoreError> {
        let rows = query_all(self.master_query(store, master).consistent_read(true), Ok).await?;
        let mut rows = rows.into_iter();
        let Some(first) = rows.next() else {
            return Ok(None);
        };
        let master = master_from_item(&first).map_err(StoreError::from)?;
        let items = rows
            .map(|row| item_from_attributes(&row))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::from)?;
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
        expected: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<Item, CatalogError> {
        let mut sets = vec![versioned_sets()];
        let mut condition = versioned_condition(expected);
        let mut update = self.versioned_update(store, candidate_sort_key(id), expected, now);
        if let Some(vendor) = &edit.vendor {
            sets.push(format!("{VENDOR} = :vendor"));
            update = update.expression_attribute_values(":vendor", s(vendor.as_str()));
        }
        if let Some(price) = &edit.price {
            sets.push(format!("{PRICE_AMOUNT} = :amount"));
            condition.push_str(&format!(" AND {CURRENCY} = :currency"));
            update = update
                .expression_attribute_values(":amount", n(price.amount()))
                .expression_attribute_values(":currency", s(price.currency().as_str()));
        }
        if let Some(status) = edit.status {
            sets.push("#status = :status".into());
            update = update
                .expression_attribute_names("#status", STATUS)
                .expression_attribute_values(":status", s(status.as_str()));
        }
        let result = update
            .condition_expression(condition)
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await;
        match result {
            Ok(output) => Ok(item_from_attributes(
                &output.attributes.unwrap_or_default(),
            )?),
            Err(error) => Err(match conditional_old_item(&error) {
                Some(None) => ITEM_NOT_FOUND.into(),
                Some(Some(old)) => {
                    let current = get_n(old, keys::VERSION).map_err(StoreError::from)?;
                    if expected.is_none_or(|expected| current == expected) {
                        CatalogError::CurrencyMismatch {
                            master_currency: currency(old)?,
                        }
                    } else {
                        StoreError::VersionMismatch { current }.into()
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
    ) -> Result<(), StoreError> {
        let mut delete = Delete::builder()
            .table_name(self.table.name())
            .set_key(Some(keys::key(store, candidate_sort_key(id))))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        delete = match expected {
            Some(version) => delete
                .condition_expression(format!("attribute_exists({SORT_KEY}) AND #v = :v"))
                .expression_attribute_names("#v", keys::VERSION)
                .expression_attribute_values(":v", n(version)),
            None => delete.condition_expression(keys::exists()),
        };
        let items = vec![
            TransactWriteItem::builder()
                .delete(delete.build().expect("table, key and condition are set"))
                .build(),
            self.count_item(store, &id.master(), -1, None),
        ];
        match self.table.transact_retrying(items, ATTEMPTS).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed(cancelled)) => Err(match cancelled.at(0) {
                Some(None) => ITEM_NOT_FOUND,
                Some(Some(old)) => StoreError::VersionMismatch {
                    current: get_n(old, keys::VERSION)?,
                },
                // The item existed but its master did not: the count keeps that from happening.
                None => StoreError::Internal("an item outlived its master item".into()),
            }),
            Err(other) => Err(other),
        }
    }

    /// Pins an eligible candidate of the master item.
    pub async fn pin(
        &self,
        store: &StoreId,
        master: &MasterItemId,
        pin: &Pin,
    ) -> Result<(), CatalogError> {
        if pin.item_id.master() != *master {
            return Err(CatalogError::NotACandidate);
        }
        let candidate = ConditionCheck::builder()
            .table_name(self.table.name())
            .set_key(Some(keys::key(store, candidate_sort_key(&pin.item_id))))
            .condition_expression(format!(
                "attribute_exists({SORT_KEY}) AND #status IN (:active, :out)"
            ))
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_values(":active", s(ItemStatus::Active.as_str()))
            .expression_attribute_values(":out", s(ItemStatus::OutOfStock.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, key and condition are set");
        let update = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(keys::key(store, master_sort_key(master))))
            // The pin is the preferred item's, not an edit of the master item: its version
            // (the ETag of its name and description) stays, so an edit read before a pin
            // still applies.
            .update_expression(format!(
                "SET {PINNED_ITEM_ID} = :item, {PINNED_BY} = :by, {PINNED_AT} = :at"
            ))
            .condition_expression(keys::exists())
            .expression_attribute_values(":item", s(&pin.item_id.to_string()))
            .expression_attribute_values(":by", s(&pin.pinned_by))
            .expression_attribute_values(":at", n(unix_millis(pin.pinned_at)))
            .build()
            .expect("table, key and expression are set");
        let items = vec![
            TransactWriteItem::builder()
                .condition_check(candidate)
                .build(),
            TransactWriteItem::builder().update(update).build(),
        ];
        match self.table.transact_retrying(items, ATTEMPTS).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed(cancelled)) => {
                Err(match (cancelled.at(1), cancelled.at(0)) {
                    (Some(_), _) => MASTER_NOT_FOUND.into(),
                    (None, Some(None)) => CatalogError::NotACandidate,
                    (None, Some(Some(_))) => CatalogError::ItemNotEligible,
                    (None, None) => {
                        StoreError::Internal("pin cancelled without a reason".into()).into()
                    }
                })
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Removes the pin, if any (the master item's version stays, as for a pin). 404 if the
    /// master item does not exist.
    pub async fn unpin(&self, store: &StoreId, master: &MasterItemId) -> Result<(), StoreError> {
        let result = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(keys::key(store, master_sort_key(master))))
            .update_expression(format!("REMOVE {PINNED_ITEM_ID}, {PINNED_BY}, {PINNED_AT}"))
            .condition_expression(keys::exists())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => Err(match classify(error) {
                StoreError::ConditionFailed(_) => MASTER_NOT_FOUND,
                other => other,
            }),
        }
    }

    /// The store's weights and their version: the defaults, at version 0, until it sets some.
    pub async fn weights(&self, store: &StoreId) -> Result<(ScoringWeights, u64), StoreError> {
        match self.table.get(store, WEIGHTS_SORT_KEY.into()).await? {
            Some(item) => Ok((
                weights_from_item(&item)?,
                // Every write sets it: a stored item without one is malformed, never version 0.
                get_n::<u64>(&item, keys::VERSION)?,
            )),
            None => Ok((ScoringWeights::default(), 0)),
        }
    }

    /// Replaces the weights, at `expected` version when given (0: never set); returns the new
    /// version. One conditional UpdateItem.
    pub async fn put_weights(
        &self,
        store: &StoreId,
        weights: &ScoringWeights,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let mut update = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(keys::key(store, WEIGHTS_SORT_KEY.into())))
            .update_expression(format!(
                "SET {PRICE_WEIGHT} = :pw, {STATUS_WEIGHT} = :sw, {ACTIVE_SCORE} = :active, \
                 {OUT_OF_STOCK_SCORE} = :oos, #v = if_not_exists(#v, :zero) + :one"
            ))
            .expression_attribute_names("#v", keys::VERSION)
            .expression_attribute_values(":pw", n(weights.price_weight()))
            .expression_attribute_values(":sw", n(weights.status_weight()))
            .expression_attribute_values(":active", n(weights.active_score()))
            .expression_attribute_values(":oos", n(weights.out_of_stock_score()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        update = match expected {
            Some(0) => update.condition_expression(keys::absent()),
            Some(version) => update
                .condition_expression("#v = :expected")
                .expression_attribute_values(":expected", n(version)),
            None => update,
        };
        match update.send().await {
            Ok(output) => Ok(get_n(
                &output.attributes.unwrap_or_default(),
                keys::VERSION,
            )?),
            Err(error) => Err(match conditional_old_item(&error) {
                Some(old) => StoreError::VersionMismatch {
                    current: old
                        .and_then(|old| get_n::<u64>(old, keys::VERSION).ok())
                        .unwrap_or(0),
                },
                None => classify(error),
            }),
        }
    }
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
) -> Result<Option<String>, StoreError> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(keys::sort_key_of).transpose()
    } else {
        last_evaluated.as_ref().map(keys::sort_key_of).transpose()
    };
    next.map(|key| key.map(str::to_owned))
        .map_err(StoreError::from)
}
