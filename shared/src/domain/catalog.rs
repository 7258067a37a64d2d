//! Preferred items: master items (the store's catalogue of products), the vendor items that
//! are candidates for each, and the store's scoring weights.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::body::{Field, Kind, Shape};
use crate::domain::ids::{ItemId, MasterItemId, StoreId};
use crate::domain::millis::to_millis_precision;
use crate::domain::text::Text;
use crate::domain::validation::{FieldError, Fields, Invalid};

/// ISO 4217 codes in use (2026). Prices in other codes are refused.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND \
BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB \
EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY \
KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR \
MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF \
SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS \
UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// An ISO 4217 currency code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Every code accepted.
    pub fn codes() -> impl Iterator<Item = &'static str> {
        ISO_4217.split(' ')
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let bytes = raw.as_bytes();
        if bytes.len() == 3
            && bytes.iter().all(u8::is_ascii_uppercase)
            && Self::codes().any(|code| code == raw)
        {
            Some(Self([bytes[0], bytes[1], bytes[2]]))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).ok_or_else(|| {
            serde::de::Error::custom(format!("{raw:?} is not an ISO 4217 currency code"))
        })
    }
}

/// Largest amount accepted, in minor units: far above any shelf price, far below overflow in
/// the scoring arithmetic.
pub const MAX_AMOUNT_MINOR: u64 = 1_000_000_000_000;

/// A price: integer minor units (cents for USD) and a currency. Never a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    amount: u64,
    currency: Currency,
}

impl Money {
    pub fn new(amount: u64, currency: Currency) -> Result<Self, FieldError> {
        if amount > MAX_AMOUNT_MINOR {
            return Err(FieldError::new(
                "price.amount",
                format!("must be at most {MAX_AMOUNT_MINOR} minor units"),
            ));
        }
        Ok(Self { amount, currency })
    }

    /// Minor units.
    pub fn amount(&self) -> u64 {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }
}

/// A price as clients send it. `amount` is an integer number of minor units: a negative or
/// fractional amount is refused by the parser, before any rule runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoneyBody {
    pub amount: u64,
    pub currency: Currency,
}

impl MoneyBody {
    pub fn validate(self) -> Result<Money, FieldError> {
        Money::new(self.amount, self.currency)
    }
}

/// A vendor item's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ItemStatus {
    Active,
    OutOfStock,
    Inactive,
    Discontinued,
}

impl ItemStatus {
    pub const ALL: [Self; 4] = [
        Self::Active,
        Self::OutOfStock,
        Self::Inactive,
        Self::Discontinued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::OutOfStock => "OUT_OF_STOCK",
            Self::Inactive => "INACTIVE",
            Self::Discontinued => "DISCONTINUED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Inactive and discontinued items are never preferred, nor kept pinned.
    pub fn is_eligible(self) -> bool {
        matches!(self, Self::Active | Self::OutOfStock)
    }
}

/// How a store weighs price against status, and how much each eligible status is worth.
/// Built only through [`ScoringWeights::new`], so it always keeps the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoringWeights {
    /// 0–100. Weight of the price factor (cheaper scores higher).
    price_weight: u32,
    /// 0–100. Weight of the status factor.
    status_weight: u32,
    /// 0–100. Status-factor score of an `ACTIVE` item.
    active_score: u32,
    /// 0–100, at most `activeScore`. Status-factor score of an `OUT_OF_STOCK` item.
    out_of_stock_score: u32,
}

/// `PUT /stores/{storeId}/scoring-weights` body: the whole set, every field required.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScoringWeightsBody {
    pub price_weight: u32,
    pub status_weight: u32,
    pub active_score: u32,
    pub out_of_stock_score: u32,
}

impl ScoringWeightsBody {
    pub fn validate(self) -> Result<ScoringWeights, Invalid> {
        ScoringWeights::new(
            self.price_weight,
            self.status_weight,
            self.active_score,
            self.out_of_stock_score,
        )
    }
}

impl Default for ScoringWeights {
    fn default() -> Self {
        Self {
            price_weight: 70,
            status_weight: 30,
            active_score: 100,
            out_of_stock_score: 25,
        }
    }
}

impl ScoringWeights {
    pub const MAX: u32 = 100;

    /// Checks the rules serde cannot: ranges, a non-zero total, and that being in stock is
    /// never worth less than being out of stock.
    pub fn new(
        price_weight: u32,
        status_weight: u32,
        active_score: u32,
        out_of_stock_score: u32,
    ) -> Result<Self, Invalid> {
        let mut errors = Vec::new();
        for (field, value) in [
            ("priceWeight", price_weight),
            ("statusWeight", status_weight),
            ("activeScore", active_score),
            ("outOfStockScore", out_of_stock_score),
        ] {
            if value > Self::MAX {
                errors.push(FieldError::new(field, "must be between 0 and 100"));
            }
        }
        if price_weight == 0 && status_weight == 0 {
            errors.push(FieldError::new(
                "priceWeight",
                "priceWeight and statusWeight must not both be 0",
            ));
        }
        if out_of_stock_score > active_score {
            errors.push(FieldError::new(
                "outOfStockScore",
                "must not exceed activeScore",
            ));
        }
        if errors.is_empty() {
            Ok(Self {
                price_weight,
                status_weight,
                active_score,
                out_of_stock_score,
            })
        } else {
            Err(Invalid(errors))
        }
    }

    /// Weights that skip the rules, to show the scoring survives them.
    #[cfg(test)]
    pub(crate) fn unchecked(price: u32, status: u32, active: u32, out_of_stock: u32) -> Self {
        Self {
            price_weight: price,
            status_weight: status,
            active_score: active,
            out_of_stock_score: out_of_stock,
        }
    }

    pub fn price_weight(&self) -> u32 {
        self.price_weight
    }

    pub fn status_weight(&self) -> u32 {
        self.status_weight
    }

    pub fn active_score(&self) -> u32 {
        self.active_score
    }

    pub fn out_of_stock_score(&self) -> u32 {
        self.out_of_stock_score
    }

    /// The status factor of an eligible status, 0–100; `None` for an ineligible one.
    pub fn status_score(&self, status: ItemStatus) -> Option<u32> {
        match status {
            ItemStatus::Active => Some(self.active_score),
            ItemStatus::OutOfStock => Some(self.out_of_stock_score),
            ItemStatus::Inactive | ItemStatus::Discontinued => None,
        }
    }
}

/// A product's name in the catalogue.
pub type Name = Text<200>;
/// Longer free text.
pub type Description = Text<1000>;
/// A vendor's name.
pub type Vendor = Text<200>;

/// A manager's manual choice of preferred item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    pub item_id: ItemId,
    pub pinned_by: String,
    pub pinned_at: OffsetDateTime,
}

/// One product of the store's catalogue; its candidates are [`Item`]s in its currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterItem {
    pub store_id: StoreId,
    pub master_item_id: MasterItemId,
    pub name: Name,
    pub description: Option<Description>,
    /// Every candidate's price is in this currency, so prices always compare.
    pub currency: Currency,
    pub pin: Option<Pin>,
    pub item_count: u32,
    pub version: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A vendor's offering of a master item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub store_id: StoreId,
    /// Names the master item too ([`ItemId::master`]).
    pub item_id: ItemId,
    pub vendor: Vendor,
    pub price: Money,
    pub status: ItemStatus,
    pub version: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PinView<'a> {
    pub item_id: ItemId,
    pub pinned_by: &'a str,
    #[serde(serialize_with = "crate::domain::millis::serialize_millis")]
    pub pinned_at: OffsetDateTime,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MasterItemView<'a> {
    pub store_id: &'a StoreId,
    pub master_item_id: MasterItemId,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub currency: Currency,
    pub pin: Option<PinView<'a>>,
    pub item_count: u32,
    pub version: u64,
    #[serde(serialize_with = "crate::domain::millis::serialize_millis")]
    pub created_at: OffsetDateTime,
    #[serde(serialize_with = "crate::domain::millis::serialize_millis")]
    pub updated_at: OffsetDateTime,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemView<'a> {
    pub store_id: &'a StoreId,
    pub item_id: ItemId,
    pub master_item_id: MasterItemId,
    pub vendor: &'a str,
    pub price: Money,
    pub status: ItemStatus,
    pub version: u64,
    #[serde(serialize_with = "crate::domain::millis::serialize_millis")]
    pub created_at: OffsetDateTime,
    #[serde(serialize_with = "crate::domain::millis::serialize_millis")]
    pub updated_at: OffsetDateTime,
}

impl MasterItem {
    pub fn view(&self) -> MasterItemView<'_> {
        MasterItemView {
            store_id: &self.store_id,
            master_item_id: self.master_item_id,
            name: self.name.as_str(),
            description: self.description.as_ref().map(Text::as_str),
            currency: self.currency,
            pin: self.pin.as_ref().map(|pin| PinView {
                item_id: pin.item_id,
                pinned_by: &pin.pinned_by,
                pinned_at: pin.pinned_at,
            }),
            item_count: self.item_count,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl Item {
    pub fn view(&self) -> ItemView<'_> {
        ItemView {
            store_id: &self.store_id,
            item_id: self.item_id,
            master_item_id: self.item_id.master(),
            vendor: self.vendor.as_str(),
            price: self.price,
            status: self.status,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// An ISO 4217 currency code, as [`Currency::parse`] reads it.
const CURRENCY: Kind = Kind::Parsed(
    |code| Currency::parse(code).is_some(),
    "must be an ISO 4217 currency code in capitals, e.g. USD",
);

const MONEY: &[Field] = &[
    Field::required(
        "amount",
        Kind::Count("of minor units, e.g. 129 for 1.29", 0, MAX_AMOUNT_MINOR),
    ),
    Field::required("currency", CURRENCY),
];
const ITEM_STATUSES: fn() -> Vec<&'static str> =
    || ItemStatus::ALL.map(ItemStatus::as_str).to_vec();
const WEIGHT: Kind = Kind::Count("from 0 to 100", 0, 100);
const VERSION: Kind = Kind::Count("(the version you read), e.g. 3", 0, u64::MAX);

impl Shape for NewMasterItemBody {
    const FIELDS: &'static [Field] = &[
        Field::required("name", Kind::Text(Name::MAX)),
        Field::optional("description", Kind::Text(Description::MAX)),
        Field::required("currency", CURRENCY),
    ];
}

impl Shape for MasterItemEditBody {
    const FIELDS: &'static [Field] = &[
        Field::optional("name", Kind::Text(Name::MAX)),
        Field::optional("description", Kind::Text(Description::MAX)),
        Field::optional("version", VERSION),
    ];
}

impl Shape for NewItemBody {
    const FIELDS: &'static [Field] = &[
        Field::required("vendor", Kind::Text(Vendor::MAX)),
        Field::required("price", Kind::Object(MONEY)),
        Field::optional("status", Kind::OneOf(ITEM_STATUSES)),
    ];
}

impl Shape for ItemEditBody {
    const FIELDS: &'static [Field] = &[
        Field::optional("vendor", Kind::Text(Vendor::MAX)),
        Field::optional("price", Kind::Object(MONEY)),
        Field::optional("status", Kind::OneOf(ITEM_STATUSES)),
        Field::optional("version", VERSION),
    ];
}

impl Shape for PinBody {
    const FIELDS: &'static [Field] = &[Field::required("itemId", Kind::Id)];
}

impl Shape for ScoringWeightsBody {
    const FIELDS: &'static [Field] = &[
        Field::required("priceWeight", WEIGHT),
        Field::required("statusWeight", WEIGHT),
        Field::required("activeScore", WEIGHT),
        Field::required("outOfStockScore", WEIGHT),
    ];
}

/// `POST /stores/{storeId}/master-items` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewMasterItemBody {
    pub name: String,
    #[serde(default, deserialize_with = "crate::domain::body::present")]
    pub description: Option<String>,
    pub currency: Currency,
}

impl NewMasterItemBody {
    pub fn into_master_item(
        self,
        store_id: StoreId,
        now: OffsetDateTime,
    ) -> Result<MasterItem, Invalid> {
        let mut fields = Fields::default();
        let name = fields.check(Name::parse("name", self.name));
        let description = self
            .description
            .map(|d| fields.check(Description::parse("description", d)));
        let now = to_millis_precision(now);
        fields.finish(|| {
            Some(MasterItem {
                store_id,
                master_item_id: MasterItemId::generate(),
                name: name?,
                description: description.flatten(),
                currency: self.currency,
                pin: None,
                item_count: 0,
                version: 1,
                created_at: now,
                updated_at: now,
            })
        })
    }
}

/// `PATCH /stores/{storeId}/master-items/{masterItemId}` body. The currency is fixed at
/// creation: the candidates' prices are in it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MasterItemEditBody {
    #[serde(default, deserialize_with = "crate::domain::body::present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::body::present")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::body::present")]
    pub version: Option<u64>,
}

/// A validated master-item edit.
#[derive(Debug, Clone)]
pub struct MasterItemEdit {
    pub name: Option<Name>,
    pub description: Option<Description>,
}

impl MasterItemEditBody {
    pub fn validate(self) -> Result<(MasterItemEdit, Option<u64>), Invalid> {
        let mut fields = Fields::default();
        let name = self.name.map(|n| fields.check(Name::parse("name", n)));
        let description = self
            .description
            .map(|d| fields.check(Description::parse("description", d)));
        if name.is_none() && description.is_none() {
            fields.push(FieldError::new("body", "set name, description, or both"));
        }
        fields.finish(|| {
            Some((
                MasterItemEdit {
                    name: name.flatten(),
                    description: description.flatten(),
                },
                self.version,
            ))
        })
    }
}

/// `POST /stores/{storeId}/master-items/{masterItemId}/items` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewItemBody {
    pub vendor: String,
    pub price: MoneyBody,
    #[serde(default, deserialize_with = "crate::domain::body::present")]
    pub status: Option<ItemStatus>,
}

impl NewItemBody {
    pub fn into_item(
        self,
        store_id: StoreId,
        master_item_id: MasterItemId,
        now: OffsetDateTime,
    ) -> Result<Item, Invalid> {
        let mut fields = Fields::default();
        let vendor = fields.check(Vendor::parse("vendor", self.vendor));
        let price = fields.check(self.price.validate());
        let now = to_millis_precision(now);
        fields.finish(|| {
            Some(Item {
                store_id,
                item_id: ItemId::generate(master_item_id),
                vendor: vendor?,
                price: price?,
                status: self.status.unwrap_or(ItemStatus::Active),
                version: 1,
                created_at: now,
                updated_at: now,
            })
        })
    }
}

/// `PATCH /stores/{storeId}/items/{itemId}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ItemEditBody {
    #[serde(default, deserialize_with = "crate::domain::body::present")]
    pub vendor: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::body::present")]
    pub price: Option<MoneyBody>,
    #[serde(default, deserialize_with = "crate::domain::body::present")]
    pub status: Option<ItemStatus>,
    #[serde(default, deserialize_with = "crate::domain::body::present")]
    pub version: Option<u64>,
}

/// A validated item edit.
#[derive(Debug, Clone)]
pub struct ItemEdit {
    pub vendor: Option<Vendor>,
    pub price: Option<Money>,
    pub status: Option<ItemStatus>,
}

impl ItemEditBody {
    pub fn validate(self) -> Result<(ItemEdit, Option<u64>), Invalid> {
        let mut fields = Fields::default();
        let vendor = self
            .vendor
            .map(|v| fields.check(Vendor::parse("vendor", v)));
        let price = self.price.map(|p| fields.check(p.validate()));
        if vendor.is_none() && price.is_none() && self.status.is_none() {
            fields.push(FieldError::new("body", "set vendor, price or status"));
        }
        let status = self.status;
        fields.finish(|| {
            Some((
                ItemEdit {
                    vendor: vendor.flatten(),
                    price: price.flatten(),
                    status,
                },
                self.version,
            ))
        })
    }
}

/// `PUT .../preferred-item/pin` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PinBody {
    pub item_id: ItemId,
}
