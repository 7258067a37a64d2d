//! `POST /stores/{storeId}/master-items`: adds a product to the store's catalogue (admin).
//! An `Idempotency-Key` (scoped to the caller) makes retries safe, as on every create.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::catalog::{MasterItem, NewMasterItemBody};
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse};
use shared::edge::http::{body_bytes, create_idempotently, idempotency_key, parse_json, respond};
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
    let key = idempotency_key(event, &principal.subject)?;
    let bytes = body_bytes(event)?;
    let now = app.clock.now();
    let master = parse_json::<NewMasterItemBody>(bytes)?.into_master_item(store.clone(), now)?;
    let body = serde_json::to_string(&master.view()).map_err(|e| ApiError::Internal(e.into()))?;
    let response = create_idempotently(
        key,
        || Fingerprint::of(&principal.subject, "", bytes),
        format!("/stores/{store}/master-items/{}", master.master_item_id),
        body,
        now,
        &NewMaster {
            app,
            master: &master,
            now,
        },
    )
    .await?;
    tracing::info!(store = %store, master_item_id = %master.master_item_id, "master item created");
    Ok(response)
}

struct NewMaster<'a> {
    app: &'a App,
    master: &'a MasterItem,
    now: OffsetDateTime,
}

impl IdempotentCreate for NewMaster<'_> {
    type Error = StoreError;

    async fn create(&self, record: Option<&IdempotencyRecord>) -> Result<(), StoreError> {
        self.app.catalog.create_master(self.master, record).await
    }

    async fn find(&self, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.app
            .catalog
            .idempotency_record(&self.master.store_id, key, self.now)
            .await
    }
}
