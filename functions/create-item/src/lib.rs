//! `POST /stores/{storeId}/master-items/{masterItemId}/items`: adds a vendor item as a
//! candidate of a master item (admin). Its price must be in the master item's currency. An
//! `Idempotency-Key` (scoped to the caller) makes retries safe, as on every create.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::catalog::{Item, NewItemBody};
use shared::domain::ids::MasterItemId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse};
use shared::edge::http::{
    body_bytes, create_idempotently, idempotency_key, parse_json, path_param, respond,
};
use shared::store::catalog::CatalogError;
use shared::store::idempotency::{
    Fingerprint, IdempotencyKey, IdempotencyRecord, IdempotentCreate,
};
use shared::store::table::StoreError;
use time::OffsetDateTime;

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, create(app, &event).await)
}

async fn create(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (principal, store) = authorize_store(event, Action::ManageCatalog)?;
    let master = path_param(event, "masterItemId", MasterItemId::parse)?;
    let key = idempotency_key(event, &principal.subject)?;
    let bytes = body_bytes(event)?;
    let now = app.clock.now();
    let item = parse_json::<NewItemBody>(bytes)?.into_item(store.clone(), master, now)?;
    let body = serde_json::to_string(&item.view()).map_err(|e| ApiError::Internal(e.into()))?;
    let response = create_idempotently(
        key,
        // The master item is in the path, not the body: it is part of "the same request".
        || Fingerprint::of(&principal.subject, &master.to_string(), bytes),
        format!("/stores/{store}/items/{}", item.item_id),
        body,
        now,
        &NewItem {
            app,
            item: &item,
            now,
        },
    )
    .await?;
    tracing::info!(store = %store, item_id = %item.item_id, "item created");
    Ok(response)
}

struct NewItem<'a> {
    app: &'a App,
    item: &'a Item,
    now: OffsetDateTime,
}

impl IdempotentCreate for NewItem<'_> {
    type Error = CatalogError;

    async fn create(&self, record: Option<&IdempotencyRecord>) -> Result<(), CatalogError> {
        self.app.catalog.create_item(self.item, record).await
    }

    async fn find(&self, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.app
            .catalog
            .idempotency_record(&self.item.store_id, key, self.now)
            .await
    }
}
