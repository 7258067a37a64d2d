//! Pure, explainable, deterministic scoring of the candidate items for a master item.
//!
//! Only eligible candidates are scored: status `ACTIVE` or `OUT_OF_STOCK`, priced in the
//! requested currency. The others are listed in [`Ranking::ineligible`] with the reason.
//!
//! With `min` the lowest eligible price, `wp`/`ws` the price/status weights and `s` the
//! status score (0–100):
//!
//! ```text
//! price factor = min / price                 (1 for the cheapest; 1 for a price of 0)
//! total        = (wp * price factor + ws * s / 100) / (wp + ws)        shown on a 0–100 scale
//! ```
//!
//! The price factor is proportional to the cheapest price: an item 10 % dearer loses a tenth
//! of the price weight, whatever the other prices. (Min–max normalisation, the earlier rule,
//! turned any gap, however small, into the whole price weight, so a cent's difference let an
//! out-of-stock item beat an active one.) With the default weights an active item within
//! 20 % of the cheapest always beats an out-of-stock one (a property test holds it).
//!
//! A total is `N / D` with `N = wp * pn * 100 + ws * s * pd` and `D = 100 * (wp + ws) * pd`,
//! where the price factor is `pn / pd` (`min / price`, or `1 / 1`). Ranking compares totals
//! exactly by cross-multiplying in `u128` (`N_a * pd_b` against `N_b * pd_a`; the common
//! `100 * (wp + ws)` cancels): no float and no rounded value ever decides an order. Only the
//! displayed [`Score`]s are rounded, half up, to hundredths; so a displayed total may differ
//! by 0.01 from the sum of its displayed contributions.
//!
//! Ties break in this order ([`TIE_BREAK`]): higher exact total, then lower price amount,
//! then higher status score, then `itemId` ascending (byte order). The result therefore does
//! not depend on the order of the input.

use std::cmp::Ordering;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::domain::catalog::{Currency, ItemStatus, Money, ScoringWeights};

/// How equal totals are ordered, as documented to API clients.
pub const TIE_BREAK: &str =
    "higher score, then lower price, then better status, then itemId ascending";

/// One vendor item competing to be the preferred item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub item_id: &'a str,
    pub price: Money,
    pub status: ItemStatus,
}

/// A displayed score on a 0–100 scale, held as integer hundredths (0..=10000).
///
/// Serialized as a JSON number with at most two decimals (87.5, 33.33). Display only: ranking
/// never looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(u32);

impl Score {
    pub const ZERO: Self = Self(0);
    pub const MAX: Self = Self(10_000);

    /// `None` above 10000 (100.00).
    pub fn from_hundredths(hundredths: u32) -> Option<Self> {
        (hundredths <= Self::MAX.0).then_some(Self(hundredths))
    }

    pub fn hundredths(self) -> u32 {
        self.0
    }

    /// `num / den` (a fraction in 0..=1) on the 0–100 scale, rounded half up to hundredths.
    /// A zero denominator (only reachable with unvalidated all-zero weights) gives 0.
    fn of_ratio(num: u128, den: u128) -> Self {
        if den == 0 {
            return Self::ZERO;
        }
        let max = u128::from(Self::MAX.0);
        // round(max * num / den) = floor((2 * max * num + den) / (2 * den)).
        let hundredths = (2 * max * num + den) / (2 * den);
        Self(u32::try_from(hundredths.min(max)).unwrap_or(Self::MAX.0))
    }
}

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The nearest f64 to k/100 prints as at most two decimals.
        serializer.serialize_f64(f64::from(self.0) / 100.0)
    }
}

/// The outcome of [`rank`]. An empty `ranked` means no candidate can be preferred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ranking {
    /// Best first.
    pub ranked: Vec<Scored>,
    /// By `item_id` ascending.
    pub ineligible: Vec<Ineligible>,
}

/// A ranked candidate, with the parts of its score so a client can explain it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scored {
    pub item_id: String,
    /// 1-based position in [`Ranking::ranked`].
    pub rank: u32,
    /// The total, 0–100.
    pub score: Score,
    /// `100 × cheapest / price`: 100 for the cheapest eligible candidate (or a price of 0),
    /// 50 for one twice its price.
    pub price_factor: Score,
    /// The status score of the candidate's status.
    pub status_factor: Score,
    /// `price_factor * price_weight / (price_weight + status_weight)`.
    pub price_contribution: Score,
    /// `status_factor * status_weight / (price_weight + status_weight)`.
    pub status_contribution: Score,
}

/// A candidate left out of the ranking.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ineligible {
    pub item_id: String,
    pub reason: IneligibleReason,
}

/// Why a candidate is not ranked. Serialized as
/// `{"code":"STATUS_NOT_ELIGIBLE","status":"DISCONTINUED"}` or
/// `{"code":"CURRENCY_MISMATCH","currency":"EUR"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IneligibleReason {
    /// `INACTIVE` or `DISCONTINUED`. Checked before the currency.
    Status(ItemStatus),
    /// The price's currency, which is not the one asked for.
    Currency(Currency),
}

impl IneligibleReason {
    pub fn code(self) -> &'static str {
        match self {
            Self::Status(_) => "STATUS_NOT_ELIGIBLE",
            Self::Currency(_) => "CURRENCY_MISMATCH",
        }
    }
}

impl Serialize for IneligibleReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("IneligibleReason", 2)?;
        state.serialize_field("code", self.code())?;
        match self {
            Self::Status(status) => state.serialize_field("status", status)?,
            Self::Currency(currency) => state.serialize_field("currency", currency)?,
        }
        state.end()
    }
}

/// An eligible candidate during ranking.
struct Entry<'c> {
    item_id: &'c str,
    amount: u64,
    status_score: u32,
    /// `wp * pn * 100`: the price part of the exact numerator `N`.
    price_part: u128,
    /// `ws * s * pd`: the status part of `N`.
    status_part: u128,
    /// The price factor `pn / pd`: `min / price`, or 1 / 1 for a price of 0.
    price_num: u128,
    price_den: u128,
}

impl Entry<'_> {
    fn numerator(&self) -> u128 {
        self.price_part + self.status_part
    }

    /// Best first: see [`TIE_BREAK`]. Totals `N / (c * pd)` compare exactly as `N_a * pd_b`
    /// against `N_b * pd_a` (at most about 2e16 * 1e12: far inside `u128`).
    fn order(&self, other: &Self) -> Ordering {
        (other.numerator() * self.price_den)
            .cmp(&(self.numerator() * other.price_den))
            .then_with(|| self.amount.cmp(&other.amount))
            .then_with(|| other.status_score.cmp(&self.status_score))
            .then_with(|| self.item_id.cmp(other.item_id))
    }
}

/// Ranks `candidates` priced in `currency`, best first; see the module doc for the formula.
///
/// `weights` keep the rules of [`ScoringWeights::new`]. Weights that did not would never
/// panic: values above 100 count as 100, and all-zero weights score everyone 0 (the tie
/// break alone then orders them).
pub fn rank(candidates: &[Candidate<'_>], weights: &ScoringWeights, currency: Currency) -> Ranking {
    let cap = |value: u32| u128::from(value.min(ScoringWeights::MAX));
    let (wp, ws) = (cap(weights.price_weight()), cap(weights.status_weight()));

    let mut eligible = Vec::with_capacity(candidates.len());
    let mut ineligible = Vec::new();
    for candidate in candidates {
        let reason = match weights.status_score(candidate.status) {
            None => IneligibleReason::Status(candidate.status),
            Some(_) if candidate.price.currency() != currency => {
                IneligibleReason::Currency(candidate.price.currency())
            }
            Some(status_score) => {
                eligible.push(Entry {
                    item_id: candidate.item_id,
                    amount: candidate.price.amount(),
                    status_score: status_score.min(ScoringWeights::MAX),
                    price_part: 0,
                    status_part: 0,
                    price_num: 0,
                    price_den: 1,
                });
                continue;
            }
        };
        ineligible.push(Ineligible {
            item_id: candidate.item_id.to_owned(),
            reason,
        });
    }
    // Ties on id (duplicate ids) are broken by the reason, so the order is total.
    ineligible.sort_unstable();

    let min = u128::from(eligible.iter().map(|e| e.amount).min().unwrap_or(0));
    for entry in &mut eligible {
        // Free is the cheapest there is: factor 1 (and no division by zero).
        (entry.price_num, entry.price_den) = match u128::from(entry.amount) {
            0 => (1, 1),
            price => (min, price),
        };
        entry.price_part = wp * entry.price_num * 100;
        entry.status_part = ws * u128::from(entry.status_score) * entry.price_den;
    }
    // Entries equal under `order` are equal in every output field, so an unstable sort is
    // still deterministic (and needs no buffer).
    eligible.sort_unstable_by(Entry::order);

    let ranked = eligible
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let den = 100 * (wp + ws) * entry.price_den;
            Scored {
                item_id: entry.item_id.to_owned(),
                rank: u32::try_from(index + 1).unwrap_or(u32::MAX),
                score: Score::of_ratio(entry.numerator(), den),
                price_factor: Score::of_ratio(entry.price_num, entry.price_den),
                status_factor: Score::of_ratio(u128::from(entry.status_score), 100),
                price_contribution: Score::of_ratio(entry.price_part, den),
                status_contribution: Score::of_ratio(entry.status_part, den),
            }
        })
        .collect();

    Ranking { ranked, ineligible }
}

/// How the preferred item was chosen.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Selection {
    Pinned,
    Scored,
}

/// Why a manager's pin does not decide the preferred item.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PinIgnored {
    ItemDeleted,
    ItemNotEligible,
}

/// A pin overrides the score while its item exists (`Some` status) and is eligible.
pub fn judge_pin(pinned_item_status: Option<ItemStatus>) -> Result<(), PinIgnored> {
    match pinned_item_status {
        None => Err(PinIgnored::ItemDeleted),
        Some(status) if !status.is_eligible() => Err(PinIgnored::ItemNotEligible),
        Some(_) => Ok(()),
    }
}

/// The preferred item: the item of an honoured pin, else the best score; `None` when no
/// candidate is eligible.
pub fn select<'a>(
    honoured_pin: Option<&str>,
    ranking: &'a Ranking,
) -> Option<(Selection, &'a Scored)> {
    let pinned = honoured_pin.and_then(|id| ranking.ranked.iter().find(|s| s.item_id == id));
    match pinned {
        Some(pinned) => Some((Selection::Pinned, pinned)),
        None => ranking.ranked.first().map(|best| (Selection::Scored, best)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn price(amount: u64) -> Money {
        Money::new(amount, usd()).unwrap()
    }

    fn cand(item_id: &str, amount: u64, status: ItemStatus) -> Candidate<'_> {
        Candidate {
            item_id,
            price: price(amount),
            status,
        }
    }

    fn weights(
        price_weight: u32,
        status_weight: u32,
        active: u32,
        out_of_stock: u32,
    ) -> ScoringWeights {
        ScoringWeights::new(price_weight, status_weight, active, out_of_stock).unwrap()
    }

    fn h(hundredths: u32) -> Score {
        Score::from_hundredths(hundredths).unwrap()
    }

    fn ids(ranking: &Ranking) -> Vec<&str> {
        ranking.ranked.iter().map(|s| s.item_id.as_str()).collect()
    }

    use ItemStatus::{Active, Discontinued, Inactive, OutOfStock};

    /// Weights 70/30, active 100, out of stock 25; the cheapest price is 900.
    ///
    /// | item | price | status | price factor          | total                             |
    /// |------|-------|--------|-----------------------|-----------------------------------|
    /// | a    | 1000  | ACTIVE | 900/1000 = 90         | 70 * 0.9 + 30 = 93                |
    /// | d    | 1100  | ACTIVE | 900/1100 = 81.82      | 70 * 9/11 + 30 = 87.2727… → 87.27 |
    /// | c    | 1200  | ACTIVE | 900/1200 = 75         | 70 * 0.75 + 30 = 82.5             |
    /// | b    | 900   | OOS    | 900/900 = 100         | 70 + 30 * 0.25 = 77.5             |
    #[test]
    fn worked_example_scores_by_hand() {
        let candidates = [
            cand("a", 1000, Active),
            cand("b", 900, OutOfStock),
            cand("c", 1200, Active),
            cand("d", 1100, Active),
        ];
        let ranking = rank(&candidates, &ScoringWeights::default(), usd());
        assert!(ranking.ineligible.is_empty());
        let expected = [
            ("a", 1, 9300, 9000, 10000, 6300, 3000),
            ("d", 2, 8727, 8182, 10000, 5727, 3000),
            ("c", 3, 8250, 7500, 10000, 5250, 3000),
            ("b", 4, 7750, 10000, 2500, 7000, 750),
        ];
        assert_eq!(ranking.ranked.len(), expected.len());
        for (scored, (id, rank, score, pf, sf, pc, sc)) in ranking.ranked.iter().zip(expected) {
            assert_eq!(
                scored,
                &Scored {
                    item_id: id.to_owned(),
                    rank,
                    score: h(score),
                    price_factor: h(pf),
                    status_factor: h(sf),
                    price_contribution: h(pc),
                    status_contribution: h(sc),
                }
            );
        }
    }

    #[test]
    fn all_equal_prices_get_full_price_factor() {
        let candidates = [
            cand("b", 500, OutOfStock),
            cand("a", 500, Active),
            cand("c", 500, OutOfStock),
        ];
        let ranking = rank(&candidates, &ScoringWeights::default(), usd());
        assert_eq!(ids(&ranking), ["a", "b", "c"]);
        let scores: Vec<u32> = ranking
            .ranked
            .iter()
            .map(|s| s.score.hundredths())
            .collect();
        // 70 + 30 * 1.00, then 70 + 30 * 0.25.
        assert_eq!(scores, [10000, 7750, 7750]);
        assert!(ranking.ranked.iter().all(|s| s.price_factor == Score::MAX));
        assert!(
            ranking
                .ranked
                .iter()
                .all(|s| s.price_contribution == h(7000))
        );
    }

    #[test]
    fn single_candidate_is_cheapest_and_dearest() {
        let ranking = rank(
            &[cand("only", 0, OutOfStock)],
            &ScoringWeights::default(),
            usd(),
        );
        assert_eq!(ranking.ranked.len(), 1);
        assert_eq!(ranking.ranked[0].rank, 1);
        assert_eq!(ranking.ranked[0].price_factor, Score::MAX);
        assert_eq!(ranking.ranked[0].score, h(7750));
    }

    #[test]
    fn ineligible_statuses_and_foreign_currency_are_ranked_out() {
        let candidates = [
            cand("e-ok", 700, Active),
            cand("d-inactive", 100, Inactive),
            cand("c-discontinued", 100, Discontinued),
            Candidate {
                item_id: "b-euro",
                price: Money::new(100, eur()).unwrap(),
                status: Active,
            },
            // Both wrong: the status is reported, being checked first.
            Candidate {
                item_id: "a-euro-discontinued",
                price: Money::new(100, eur()).unwrap(),
                status: Discontinued,
            },
        ];
        let ranking = rank(&candidates, &ScoringWeights::default(), usd());
        assert_eq!(ids(&ranking), ["e-ok"]);
        // The only eligible price is both min and max.
        assert_eq!(ranking.ranked[0].score, Score::MAX);
        let ineligible: Vec<(&str, IneligibleReason)> = ranking
            .ineligible
            .iter()
            .map(|i| (i.item_id.as_str(), i.reason))
            .collect();
        assert_eq!(
            ineligible,
            [
                (
                    "a-euro-discontinued",
                    IneligibleReason::Status(Discontinued)
                ),
                ("b-euro", IneligibleReason::Currency(eur())),
                ("c-discontinued", IneligibleReason::Status(Discontinued)),
                ("d-inactive", IneligibleReason::Status(Inactive)),
            ]
        );
    }

    #[test]
    fn empty_or_all_ineligible_ranks_nobody() {
        let empty = rank(&[], &ScoringWeights::default(), usd());
        assert!(empty.ranked.is_empty() && empty.ineligible.is_empty());
        let none = rank(
            &[cand("x", 1, Inactive), cand("y", 2, Discontinued)],
            &ScoringWeights::default(),
            eur(),
        );
        assert!(none.ranked.is_empty());
        assert_eq!(none.ineligible.len(), 2);
    }

    #[test]
    fn ties_break_by_price() {
        // 50/50, out of stock worth 0: cheapest-but-OOS 0.5 * 1 + 0 = 0.5, dearest-but-active
        // 0 + 0.5 * 1 = 0.5. Exactly equal, so the lower price wins despite its later id.
        let w = weights(50, 50, 100, 0);
        let ranking = rank(
            &[cand("a-dear", 100, Active), cand("b-cheap", 0, OutOfStock)],
            &w,
            usd(),
        );
        assert_eq!(ids(&ranking), ["b-cheap", "a-dear"]);
        assert_eq!(ranking.ranked[0].score, ranking.ranked[1].score);
    }

    #[test]
    fn ties_break_by_status_then_id() {
        // Price only: equal prices give equal totals whatever the status.
        let w = weights(100, 0, 100, 25);
        let candidates = [
            cand("d", 500, Active),
            cand("c", 500, OutOfStock),
            cand("b", 500, Active),
            cand("a", 500, OutOfStock),
            cand("e", 400, OutOfStock),
        ];
        let ranking = rank(&candidates, &w, usd());
        assert_eq!(ids(&ranking), ["e", "b", "d", "a", "c"]);
        let ranks: Vec<u32> = ranking.ranked.iter().map(|s| s.rank).collect();
        assert_eq!(ranks, [1, 2, 3, 4, 5]);
        // Status scores equal too: the id decides, in byte order ("B" < "a").
        let same = weights(50, 50, 60, 60);
        let ranking = rank(
            &[
                cand("a", 5, OutOfStock),
                cand("B", 5, Active),
                cand("_", 5, Active),
            ],
            &same,
            usd(),
        );
        assert_eq!(ids(&ranking), ["B", "_", "a"]);
    }

    #[test]
    fn ranking_uses_exact_totals_not_rounded_scores() {
        // 50/50, active 100, out of stock 99, the cheapest at 1000.
        // active at 2000: 50 * 1/2 + 50 = 75 exactly.
        // oos at 1961: 50 * 1000/1961 + 49.5 = 74.9971…, displayed 75.00 as well.
        // Rounded, they tie and the lower price would win; exactly, the active one is higher.
        let w = weights(50, 50, 100, 99);
        let candidates = [
            cand("lo", 1000, Active),
            cand("hi", 4000, Active),
            cand("z-active", 2000, Active),
            cand("a-oos", 1961, OutOfStock),
        ];
        let ranking = rank(&candidates, &w, usd());
        assert_eq!(ids(&ranking), ["lo", "z-active", "a-oos", "hi"]);
        assert_eq!(ranking.ranked[1].score, h(7500));
        assert_eq!(ranking.ranked[2].score, h(7500));
    }

    #[test]
    fn display_rounds_half_up_to_hundredths() {
        let w = weights(100, 0, 100, 25);
        // 1/20_000 of the cheapest = 0.005 on the 0–100 scale → 0.01 (half up).
        let ranking = rank(
            &[cand("a", 1, Active), cand("b", 20_000, Active)],
            &w,
            usd(),
        );
        assert_eq!(ranking.ranked[1].price_factor, h(1));
        assert_eq!(ranking.ranked[1].score, h(1));
        // 1/40_000 = 0.0025 → 0.00.
        let ranking = rank(
            &[cand("a", 1, Active), cand("b", 40_000, Active)],
            &w,
            usd(),
        );
        assert_eq!(ranking.ranked[1].price_factor, Score::ZERO);
        // 2/3 → 66.67, 1/3 → 33.33.
        let ranking = rank(&[cand("a", 200, Active), cand("b", 300, Active)], &w, usd());
        assert_eq!(ranking.ranked[1].score, h(6667));
        let ranking = rank(&[cand("a", 100, Active), cand("b", 300, Active)], &w, usd());
        assert_eq!(ranking.ranked[1].score, h(3333));
    }

    #[test]
    fn unvalidated_weights_do_not_panic() {
        let zero = ScoringWeights::unchecked(0, 0, 0, 0);
        let ranking = rank(&[cand("b", 1, Active), cand("a", 2, Active)], &zero, usd());
        assert_eq!(ids(&ranking), ["b", "a"]);
        assert!(ranking.ranked.iter().all(|s| s.score == Score::ZERO));

        let huge = ScoringWeights::unchecked(u32::MAX, 1000, u32::MAX, 500);
        let max = Money::new(crate::domain::catalog::MAX_AMOUNT_MINOR, usd()).unwrap();
        let candidates = [
            Candidate {
                item_id: "a",
                price: max,
                status: OutOfStock,
            },
            cand("b", 0, Active),
        ];
        let ranking = rank(&candidates, &huge, usd());
        for s in &ranking.ranked {
            for score in [
                s.score,
                s.price_factor,
                s.status_factor,
                s.price_contribution,
                s.status_contribution,
            ] {
                assert!(score <= Score::MAX);
            }
        }
        assert_eq!(ranking.ranked[0].score, Score::MAX);
    }

    #[test]
    fn serializes_camel_case_with_two_decimal_scores() {
        let candidates = [
            cand("a", 1000, Active),
            cand("b", 900, OutOfStock),
            cand("c", 1200, Active),
            cand("x", 1, Discontinued),
            Candidate {
                item_id: "y",
                price: Money::new(1, eur()).unwrap(),
                status: Active,
            },
        ];
        let ranking = rank(&candidates, &ScoringWeights::default(), usd());
        let value = serde_json::to_value(&ranking).unwrap();
        assert_eq!(
            value["ranked"][1],
            json!({
                "itemId": "c",
                "rank": 2,
                "score": 82.5,
                "priceFactor": 75.0,
                "statusFactor": 100.0,
                "priceContribution": 52.5,
                "statusContribution": 30.0,
            })
        );
        assert_eq!(
            value["ineligible"],
            json!([
                { "itemId": "x", "reason": { "code": "STATUS_NOT_ELIGIBLE", "status": "DISCONTINUED" } },
                { "itemId": "y", "reason": { "code": "CURRENCY_MISMATCH", "currency": "EUR" } },
            ])
        );
        let text =
            serde_json::to_string(&[h(8750), h(3333), h(1), Score::ZERO, Score::MAX]).unwrap();
        assert_eq!(text, "[87.5,33.33,0.01,0.0,100.0]");
        assert!(Score::from_hundredths(10_001).is_none());
    }

    // ---- properties ----

    fn status() -> impl Strategy<Value = ItemStatus> {
        prop::sample::select(ItemStatus::ALL.to_vec())
    }

    /// Edges (equal prices, zero) come up often enough to exercise the tie-breaks.
    fn amount() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0u64),
            Just(1_000_000u64),
            500u64..=503,
            0u64..=1_000_000,
        ]
    }

    fn weight() -> impl Strategy<Value = u32> {
        prop_oneof![Just(0u32), Just(100u32), 0u32..=100]
    }

    fn valid_weights() -> impl Strategy<Value = ScoringWeights> {
        (weight(), weight(), weight(), weight()).prop_filter_map(
            "invalid weights",
            |(price_weight, status_weight, a, b)| {
                ScoringWeights::new(price_weight, status_weight, a.max(b), a.min(b)).ok()
            },
        )
    }

    /// Owned inputs: (item_id, amount, status, currency). Distinct ids; "v10" < "v9" in byte
    /// order, so the id tie-break is not the numeric one.
    type Input = (String, u64, ItemStatus, Currency);

    fn inputs_in(currencies: Vec<Currency>) -> impl Strategy<Value = Vec<Input>> {
        prop::collection::btree_set(0u32..40, 1..=8).prop_flat_map(move |numbers| {
            let n = numbers.len();
            let ids: Vec<String> = numbers.into_iter().map(|k| format!("v{k}")).collect();
            (
                Just(ids),
                prop::collection::vec(
                    (amount(), status(), prop::sample::select(currencies.clone())),
                    n,
                ),
            )
                .prop_map(|(ids, rest)| {
                    ids.into_iter()
                        .zip(rest)
                        .map(|(id, (amount, status, currency))| (id, amount, status, currency))
                        .collect()
                })
        })
    }

    fn inputs() -> impl Strategy<Value = Vec<Input>> {
        inputs_in(vec![usd()])
    }

    fn candidates(inputs: &[Input]) -> Vec<Candidate<'_>> {
        inputs
            .iter()
            .map(|(id, amount, status, currency)| Candidate {
                item_id: id,
                price: Money::new(*amount, *currency).unwrap(),
                status: *status,
            })
            .collect()
    }

    fn rank_inputs(inputs: &[Input], w: &ScoringWeights) -> Ranking {
        rank(&candidates(inputs), w, usd())
    }

    fn rank_of(ranking: &Ranking, id: &str) -> Option<u32> {
        ranking
            .ranked
            .iter()
            .find(|s| s.item_id == id)
            .map(|s| s.rank)
    }

    fn summary(ranking: &Ranking) -> (Vec<(String, Score)>, Vec<Ineligible>) {
        (
            ranking
                .ranked
                .iter()
                .map(|s| (s.item_id.clone(), s.score))
                .collect(),
            ranking.ineligible.clone(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn prop_lower_price_never_ranks_lower(
            mut inputs in inputs(),
            w in valid_weights(),
            pick in any::<prop::sample::Index>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let i = pick.index(inputs.len());
            let before = rank_inputs(&inputs, &w);
            let old = inputs[i].1;
            inputs[i].1 = old - cut.index(usize::try_from(old).unwrap() + 1) as u64;
            let after = rank_inputs(&inputs, &w);
            let id = &inputs[i].0;
            match (rank_of(&before, id), rank_of(&after, id)) {
                (Some(b), Some(a)) => prop_assert!(a <= b, "rank {b} -> {a} at {old} -> {}", inputs[i].1),
                (None, None) => {}
                other => prop_assert!(false, "eligibility changed with the price: {other:?}"),
            }
        }

        /// With the default weights, an active item within 20 % of the cheapest price beats
        /// every out-of-stock one, whatever the other prices.
        #[test]
        fn prop_in_stock_within_a_fifth_beats_out_of_stock(
            cheapest in 1u64..1_000_000,
            markup in 0u64..=20,
            others in prop::collection::vec(0u64..2_000_000, 0..5),
        ) {
            let active = cheapest + cheapest * markup / 100;
            let mut candidates = vec![
                cand("active", active, Active),
                cand("oos-cheapest", cheapest, OutOfStock),
            ];
            let ids: Vec<String> = (0..others.len()).map(|n| format!("oos-{n}")).collect();
            for (id, price) in ids.iter().zip(&others) {
                candidates.push(cand(id, (*price).max(cheapest), OutOfStock));
            }
            let ranking = rank(&candidates, &ScoringWeights::default(), usd());
            prop_assert_eq!(ranking.ranked[0].item_id.as_str(), "active");
        }

        #[test]
        fn prop_better_status_never_ranks_lower(
            mut inputs in inputs(),
            w in valid_weights(),
            pick in any::<prop::sample::Index>(),
        ) {
            let i = pick.index(inputs.len());
            inputs[i].2 = OutOfStock;
            let out_of_stock = rank_inputs(&inputs, &w);
            inputs[i].2 = Active;
            let active = rank_inputs(&inputs, &w);
            let id = &inputs[i].0;
            prop_assert!(rank_of(&active, id).unwrap() <= rank_of(&out_of_stock, id).unwrap());
        }

        #[test]
        fn prop_result_independent_of_input_order(
            (inputs, shuffled) in inputs_in(vec![usd(), eur()])
                .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
            w in valid_weights(),
        ) {
            let base = summary(&rank_inputs(&inputs, &w));
            prop_assert_eq!(&base, &summary(&rank_inputs(&shuffled, &w)));
            let reversed: Vec<Input> = inputs.iter().rev().cloned().collect();
            prop_assert_eq!(&base, &summary(&rank_inputs(&reversed, &w)));
        }

        #[test]
        fn prop_scores_in_range_and_ranks_consecutive(inputs in inputs(), w in valid_weights()) {
            let ranking = rank_inputs(&inputs, &w);
            for (index, s) in ranking.ranked.iter().enumerate() {
                prop_assert_eq!(s.rank as usize, index + 1);
                for score in [s.score, s.price_factor, s.status_factor, s.price_contribution, s.status_contribution] {
                    prop_assert!(score.hundredths() <= 10_000);
                }
                // Rounding is monotonic, so displayed totals never rise down the list.
                if index > 0 {
                    prop_assert!(s.score <= ranking.ranked[index - 1].score);
                }
            }
        }

        #[test]
        fn prop_equal_inputs_score_equal(
            mut inputs in inputs(),
            w in valid_weights(),
            pick in any::<prop::sample::Index>(),
        ) {
            let (_, amount, status, currency) = inputs[pick.index(inputs.len())].clone();
            // Ids are v0..v39: "twin" is distinct from all of them.
            inputs.push(("twin".to_owned(), amount, status, currency));
            let ranking = rank_inputs(&inputs, &w);
            let equal: Vec<&Scored> = ranking
                .ranked
                .iter()
                .filter(|s| {
                    let input = inputs.iter().find(|i| i.0 == s.item_id).unwrap();
                    input.1 == amount && input.2 == status
                })
                .collect();
            if status.is_eligible() {
                prop_assert!(equal.len() >= 2);
            }
            for s in &equal {
                prop_assert_eq!(
                    (s.score, s.price_factor, s.status_factor, s.price_contribution, s.status_contribution),
                    (equal[0].score, equal[0].price_factor, equal[0].status_factor,
                     equal[0].price_contribution, equal[0].status_contribution)
                );
            }
        }

        #[test]
        fn prop_every_candidate_listed_exactly_once(
            inputs in inputs_in(vec![usd(), eur()]),
            w in valid_weights(),
        ) {
            let ranking = rank_inputs(&inputs, &w);
            prop_assert_eq!(ranking.ranked.len() + ranking.ineligible.len(), inputs.len());
            for (id, _, status, currency) in &inputs {
                let ranked = ranking.ranked.iter().filter(|s| &s.item_id == id).count();
                let out: Vec<&Ineligible> = ranking.ineligible.iter().filter(|i| &i.item_id == id).collect();
                if !status.is_eligible() {
                    prop_assert_eq!((ranked, out.len()), (0, 1));
                    prop_assert_eq!(out[0].reason, IneligibleReason::Status(*status));
                } else if *currency != usd() {
                    prop_assert_eq!((ranked, out.len()), (0, 1));
                    prop_assert_eq!(out[0].reason, IneligibleReason::Currency(*currency));
                } else {
                    prop_assert_eq!((ranked, out.len()), (1, 0));
                }
            }
            prop_assert!(ranking.ineligible.windows(2).all(|p| p[0].item_id < p[1].item_id));
        }
    }
}
