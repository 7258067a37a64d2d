//! The preferred item of a master item, as a use case: its candidates ranked by the store's
//! weights, a pin honoured or reported as ignored, the ineligible listed with their reason.
//! One function, typed, that any entry point calls (the function, the server): the scoring
//! itself is [`crate::domain::scoring`]'s, a pure function.

use std::collections::HashMap;

use serde::Serialize;

use crate::domain::catalog::{
    Currency, Item, ItemStatus, MasterItem, Money, PinView, ScoringWeights,
};
use crate::domain::ids::{ItemId, MasterItemId};
use crate::domain::scoring::{
    self, Candidate, IneligibleReason, PinIgnored, Score, Scored, Selection, TIE_BREAK,
};

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Breakdown {
    pub price_factor: Score,
    pub status_factor: Score,
    pub price_contribution: Score,
    pub status_contribution: Score,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RankedCandidate<'a> {
    pub rank: u32,
    pub item_id: ItemId,
    pub vendor: &'a str,
    pub price: Money,
    pub status: ItemStatus,
    pub score: Score,
    pub breakdown: Breakdown,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IneligibleCandidate<'a> {
    pub item_id: ItemId,
    pub vendor: &'a str,
    pub price: Money,
    pub status: ItemStatus,
    pub reason: IneligibleReason,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PinState<'a> {
    #[serde(flatten)]
    pub pin: PinView<'a>,
    pub honoured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored_because: Option<PinIgnored>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreferredItem<'a> {
    pub master_item_id: MasterItemId,
    pub currency: Currency,
    pub selection: Selection,
    pub preferred: RankedCandidate<'a>,
    pub pin: Option<PinState<'a>>,
    pub weights: ScoringWeights,
    pub tie_break: &'static str,
    pub candidates: Vec<RankedCandidate<'a>>,
    pub ineligible: Vec<IneligibleCandidate<'a>>,
}

/// Why there is no preferred item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoPreferredItem {
    /// The master item has no items yet.
    NoItems,
    /// Items, but none is `ACTIVE` or `OUT_OF_STOCK`.
    NoEligibleCandidate { items: usize },
}

/// The choice among `items` (the master item's candidates) by `weights`, explained.
pub fn choose<'a>(
    master: &'a MasterItem,
    items: &'a [Item],
    weights: ScoringWeights,
) -> Result<PreferredItem<'a>, NoPreferredItem> {
    if items.is_empty() {
        return Err(NoPreferredItem::NoItems);
    }
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
    // The ranking names candidates by the ids it was given: back to their items.
    let by_id: HashMap<&str, &'a Item> = ids.iter().map(String::as_str).zip(items).collect();
    let ranked: Vec<RankedCandidate<'a>> = ranking
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
    let (selection, choice) = scoring::select(honoured_pin.as_deref(), &ranking)
        .ok_or(NoPreferredItem::NoEligibleCandidate { items: items.len() })?;
    let preferred = ranked[choice.rank as usize - 1].clone();
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
    Ok(PreferredItem {
        master_item_id: master.master_item_id,
        currency: master.currency,
        selection,
        preferred,
        pin,
        weights,
        tie_break: TIE_BREAK,
        candidates: ranked,
        ineligible,
    })
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
