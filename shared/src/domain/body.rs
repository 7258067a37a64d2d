//! Request bodies checked against their shape before serde reads them, so that one answer
//! names every field at fault, each with its JSON path and a message written for people
//! ("must be a whole number of minor units, e.g. 129"), not serde's ("expected u64").
//!
//! A number with a zero fraction (`137.0`) where an integer is expected is that integer, as
//! JSON Schema says. The domain's own rules (lengths, ranges across fields) run after, in each
//! body's `validate`.

use serde_json::Value;

use crate::domain::validation::FieldError;

/// What a field holds.
pub enum Kind {
    /// Free text of at most this many characters ([`crate::domain::text::Text`]'s rule).
    Text(usize),
    /// A string checked by the domain after (an id).
    Id,
    /// A whole number within the range; the hint says of what ("of minor units, e.g. 129").
    Count(&'static str, u64, u64),
    /// One of these strings.
    OneOf(fn() -> Vec<&'static str>),
    /// A string the domain's parser accepts, and what to say when it does not (a currency
    /// code): the rule stays with its type, which this module need not know.
    Parsed(fn(&str) -> bool, &'static str),
    /// An object of these fields.
    Object(&'static [Field]),
}

pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

impl Field {
    pub const fn required(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            required: true,
        }
    }

    pub const fn optional(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            required: false,
        }
    }
}

/// A body whose fields [`check`] knows.
pub trait Shape {
    const FIELDS: &'static [Field];
}

/// Checks `value` against `fields`, collecting every error, and turns whole-number floats into
/// integers where a count is expected.
pub fn check(value: &mut Value, fields: &[Field], path: &str, errors: &mut Vec<FieldError>) {
    let Value::Object(object) = value else {
        errors.push(FieldError::new(
            if path.is_empty() { "body" } else { path },
            "must be a JSON object",
        ));
        return;
    };
    let at = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let mut unknown: Vec<String> = object
        .keys()
        .filter(|key| !fields.iter().any(|f| f.name == key.as_str()))
        .cloned()
        .collect();
    unknown.sort();
    for key in unknown {
        let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
        errors.push(FieldError::new(
            at(&key),
            format!("is not a field of this body (fields: {})", known.join(", ")),
        ));
    }
    for field in fields {
        match object.get_mut(field.name) {
            None if field.required => errors.push(FieldError::new(at(field.name), "is required")),
            None => {}
            Some(Value::Null) => errors.push(FieldError::new(
                at(field.name),
                if field.required {
                    "is required and must not be null"
                } else {
                    "must not be null: leave it out instead"
                },
            )),
            Some(value) => check_value(value, &field.kind, &at(field.name), errors),
        }
    }
}

fn check_value(value: &mut Value, kind: &Kind, path: &str, errors: &mut Vec<FieldError>) {
    match kind {
        Kind::Text(max) => match value.as_str() {
            None => errors.push(FieldError::new(path, "must be a string")),
            Some(text) => {
                if let Some(problem) = crate::domain::text::text_problem(text, *max) {
                    errors.push(FieldError::new(path, problem));
                }
            }
        },
        Kind::Id if !value.is_string() => errors.push(FieldError::new(path, "must be a string")),
        Kind::Id => {}
        Kind::Count(hint, min, max) => match whole_number(value) {
            Some(n) if (*min..=*max).contains(&n) => *value = Value::from(n),
            Some(_) => errors.push(FieldError::new(
                path,
                format!("must be between {min} and {max}"),
            )),
            None => errors.push(FieldError::new(
                path,
                format!("must be a whole number {hint}"),
            )),
        },
        Kind::OneOf(values) => {
            let values = values();
            if !value.as_str().is_some_and(|v| values.contains(&v)) {
                errors.push(FieldError::new(
                    path,
                    format!("must be one of {}", values.join(", ")),
                ));
            }
        }
        Kind::Parsed(accepts, rule) => {
            if !value.as_str().is_some_and(accepts) {
                errors.push(FieldError::new(path, *rule));
            }
        }
        Kind::Object(fields) => check(value, fields, path, errors),
    }
}

/// A non-negative integer, or a number with a zero fraction that is one (`137.0`).
fn whole_number(value: &Value) -> Option<u64> {
    let number = value.as_number()?;
    if let Some(n) = number.as_u64() {
        return Some(n);
    }
    let float = number.as_f64()?;
    (float >= 0.0 && float.fract() == 0.0 && float < 2f64.powi(53)).then_some(float as u64)
}

/// For optional body fields: absent is `None`, but an explicit `null` is refused like any
/// other wrong type, as the OpenAPI document says. Use with `#[serde(default, deserialize_with
/// = "present")]`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MONEY: &[Field] = &[
        Field::required("amount", Kind::Count("of minor units, e.g. 129", 0, 1000)),
        Field::required("currency", Kind::Text(3)),
    ];
    const BODY: &[Field] = &[
        Field::required("vendor", Kind::Text(20)),
        Field::required("price", Kind::Object(MONEY)),
        Field::optional("status", Kind::OneOf(|| vec!["ACTIVE", "OUT_OF_STOCK"])),
    ];

    #[test]
    fn every_fault_is_named_with_its_path() {
        let mut body =
            json!({"vendor": 7, "price": {"amount": 1.5}, "status": "GONE", "colour": "red"});
        let mut errors = Vec::new();
        check(&mut body, BODY, "", &mut errors);
        let named: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                (
                    "colour",
                    "is not a field of this body (fields: vendor, price, status)"
                ),
                ("vendor", "must be a string"),
                (
                    "price.amount",
                    "must be a whole number of minor units, e.g. 129"
                ),
                ("price.currency", "is required"),
                ("status", "must be one of ACTIVE, OUT_OF_STOCK"),
            ]
        );
    }

    #[test]
    fn a_zero_fraction_is_a_whole_number() {
        let mut body = json!({"vendor": "v", "price": {"amount": 137.0, "currency": "USD"}});
        let mut errors = Vec::new();
        check(&mut body, BODY, "", &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(body["price"]["amount"], json!(137));
        for bad in [json!(-1), json!(1e300), json!("129"), json!(12.5)] {
            assert!(whole_number(&bad).is_none(), "{bad}");
        }
    }

    /// The field names serde's derive knows for `T`, read from its own refusal of an
    /// unknown field (every body denies unknown fields).
    fn serde_fields<T: serde::de::DeserializeOwned>() -> std::collections::BTreeSet<String> {
        let error = serde_json::from_value::<T>(json!({"\u{1}not a field": 1}))
            .err()
            .expect("an unknown field is refused")
            .to_string();
        let expected = error
            .split_once("expected")
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| panic!("serde lists no fields: {error}"));
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    fn shape_fields(fields: &[Field]) -> std::collections::BTreeSet<String> {
        fields.iter().map(|f| f.name.to_owned()).collect()
    }

    /// Each body's shape is written twice, as the serde struct and as the checker's field
    /// list (the OpenAPI document is held to the checker by the handler tests): they name the
    /// same fields, nested objects included.
    #[test]
    fn every_body_shape_names_the_fields_its_serde_struct_reads() {
        use crate::domain::catalog::*;
        use crate::domain::supervisor_request::*;
        fn same<T: serde::de::DeserializeOwned + Shape>() {
            assert_eq!(
                serde_fields::<T>(),
                shape_fields(T::FIELDS),
                "{}",
                std::any::type_name::<T>()
            );
        }
        same::<NewRequestBody>();
        same::<RequestEditBody>();
        same::<ResponseBody>();
        same::<NewMasterItemBody>();
        same::<MasterItemEditBody>();
        same::<NewItemBody>();
        same::<ItemEditBody>();
        same::<PinBody>();
        same::<ScoringWeightsBody>();
        let Kind::Object(money) = &NewItemBody::FIELDS[1].kind else {
            panic!("price is an object");
        };
        assert_eq!(serde_fields::<MoneyBody>(), shape_fields(money));
    }
}
