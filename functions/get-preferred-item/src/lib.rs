//! `GET /stores/{storeId}/master-items/{masterItemId}/preferred-item`: the winning item, its
//! score with the per-factor breakdown, and every candidate ranked, so the choice explains
//! itself. A pin on an eligible item wins over the score (`selection: "PINNED"`); a pin on an
//! item since deleted or made ineligible is reported and ignored. A master item without items
//! has no preferred item: 404; one whose items are all ineligible: 409
//! `no_eligible_candidate`.
//!
//! Two DynamoDB calls, made concurrently: one Query for the master item and its candidates,
//! one GetItem for the weights.

use std::collections::HashMap;

use serde::Serialize;
use shared::App;
use shared::catalog::{Currency, Item, ItemStatus, Money, PinView, ScoringWeights};
use shared::error::ApiError;
use shared::http::{ApiRequest, ApiResponse, StatusCode};
use shared::http::{json, path_param, respond};
use shared::ids::{ItemId, MasterItemId};
use shared::principal::{Action, authorize_store};
use shared::scoring::{
    self, Candidate, IneligibleReason, PinIgnored, Score, Scored, Selection, TIE_BREAK,
};
use shared::table::{Entity, StoreError};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Breakdown {
    price_factor: Score,
    status_factor: Score,
    price_contribution: Score,
    status_contribution: Score,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RankedCandidate<'a> {
    rank: u32,
    item_id: ItemId,
    vendor: &'a str,
    price: Money,
    status: ItemStatus,
    score: Score,
    breakdown: Breakdown,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IneligibleCandidate<'a> {
    item_id: ItemId,
    vendor: &'a str,
    price: Money,
    status: ItemStatus,
    reason: IneligibleReason,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PinState<'a> {
    #[serde(flatten)]
    pin: PinView<'a>,
    honoured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ignored_because: Option<PinIgnored>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PreferredItem<'a> {
    master_item_id: MasterItemId,
    currency: Currency,
    selection: Selection,
    preferred: &'a RankedCandidate<'a>,
    pin: Option<PinState<'a>>,
    weights: ScoringWeights,
    tie_break: &'static str,
    candidates: &'a [RankedCandidate<'a>],
    ineligible: Vec<IneligibleCandidate<'a>>,
}

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, preferred(app, &event).await)
}

async fn preferred(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ReadCatalog)?;
    let master_id = path_param(event, "masterItemId", MasterItemId::parse)?;
    let (found, weights) = tokio::join!(
        app.catalog.master_with_candidates(&store, &master_id),
        app.catalog.weights(&store)
    );
    let (master, items) = found?.ok_or(StoreError::NotFound(Entity::MasterItem))?;
    // Nothing to choose from: a GET that finds nothing, as a client expects of one.
    if items.is_empty() {
        return Err(ApiError::NotFound(
            "the master item has no items yet: there is no preferred item",
        ));
    }
    let (weights, _) = weights?;

    let ids: Vec<String> = items.iter().map(|item| item.item_id.to_string()).collect();
    let candidates: Vec<Candidate<'_>> = items
        .iter()
        .zip(&ids)
        .map(|(item, id)| Candidate {
            item_id: id,
            price: item.price,
            status: item.status,
        })
        .collect();
    let ranking = scoring::rank(&candidates, &weights, master.currency);
    let by_id: HashMap<&str, &Item> = ids.iter().map(String::as_str).zip(&items).collect();
    let ranked: Vec<RankedCandidate<'_>> = ranking
        .ranked
        .iter()
        .map(|scored| ranked_candidate(scored, by_id[scored.item_id.as_str()]))
        .collect();

    let pin = master.pin.as_ref().map(|pin| {
        let pinned = items.iter().find(|item| item.item_id == pin.item_id);
        let ignored_because = scoring::judge_pin(pinned.map(|item| item.status)).err();
        PinState {
            pin: PinView {
                item_id: pin.item_id,
                pinned_by: &pin.pinned_by,
                pinned_at: pin.pinned_at,
            },
            honoured: ignored_because.is_none(),
            ignored_because,
        }
    });
    let honoured_pin = pin
        .as_ref()
        .filter(|state| state.honoured)
        .map(|state| state.pin.item_id.to_string());
    let Some((selection, choice)) = scoring::select(honoured_pin.as_deref(), &ranking) else {
        return Err(ApiError::conflict(
            "no_eligible_candidate",
            format!(
                "no eligible candidate among {} item(s): none is ACTIVE or OUT_OF_STOCK",
                items.len()
            ),
        ));
    };
    let preferred = &ranked[choice.rank as usize - 1];
    let ineligible = ranking
        .ineligible
        .iter()
        .map(|entry| {
            let item = by_id[entry.item_id.as_str()];
            IneligibleCandidate {
                item_id: item.item_id,
                vendor: item.vendor.as_str(),
                price: item.price,
                status: item.status,
                reason: entry.reason,
            }
        })
        .collect();
    json(
        StatusCode::OK,
        &PreferredItem {
            master_item_id: master.master_item_id,
            currency: master.currency,
            selection,
            preferred,
            pin,
            weights,
            tie_break: TIE_BREAK,
            candidates: &ranked,
            ineligible,
        },
    )
}

fn ranked_candidate<'a>(scored: &Scored, item: &'a Item) -> RankedCandidate<'a> {
    RankedCandidate {
        rank: scored.rank,
        item_id: item.item_id,
        vendor: item.vendor.as_str(),
        price: item.price,
        status: item.status,
        score: scored.score,
        breakdown: Breakdown {
            price_factor: scored.price_factor,
            status_factor: scored.status_factor,
            price_contribution: scored.price_contribution,
            status_contribution: scored.status_contribution,
        },
    }
}
