//! `DELETE /stores/{storeId}/items/{itemId}`: removes an item and counts it out of its
//! master item, in one transaction (admin). An `If-Match` header, if sent, must match. A
//! pinned item that is deleted stops being the preferred item.

use lambda_http::{Body, Request, Response};
use shared::App;
use shared::catalog_store::ITEM_NOT_FOUND;
use shared::error::ApiError;
use shared::http::{if_match_version, no_content, path_param, respond};
use shared::ids::ItemId;
use shared::principal::{Action, authorize_store};
use shared::store::StoreError;

const ATTEMPTS: u32 = 5;

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(delete(app, &event).await)
}

async fn delete(app: &App, event: &Request) -> Result<Response<Body>, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let id = path_param(event, "itemId", ItemId::parse)?;
    let expected = if_match_version(event.headers())?;
    for _ in 0..ATTEMPTS {
        let current = app
            .catalog
            .get_item(&store, &id)
            .await?
            .ok_or(ITEM_NOT_FOUND)?;
        if let Some(version) = expected
            && version != current.version
        {
            return Err(ApiError::PreconditionFailed {
                current: current.version,
            });
        }
        if app.catalog.delete_item(&current).await? {
            tracing::info!(store = %store, item_id = %id, "item deleted");
            return no_content();
        }
    }
    Err(StoreError::TransactionConflict.into())
}
