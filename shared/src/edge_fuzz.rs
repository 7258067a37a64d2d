//! Property tests of the parsers at the edge, where hostile input arrives: cursors, sort
//! keys, ids, tokens and request bodies. Each must reject what it should, accept what it
//! should, and never panic, whatever the bytes.

use futures_util::FutureExt;
use proptest::prelude::*;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::auth::Authenticator;
use crate::domain::audit::{Actor, ActorRole, EventType, RequestEvent};
use crate::domain::ids::{RequestId, StoreId};
use crate::domain::supervisor_request::{
    Details, NewRequest, NewRequestBody, Priority, RequestEditBody, RequestType, ResponseBody,
    SupervisorRequest,
};
use crate::edge::error::ApiError;
use crate::edge::http::parse_json;
use crate::store::cursor::CursorKey;
use crate::{store::codec, store::keys};

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn client_error(result: Result<(), ApiError>) -> bool {
    match result {
        Ok(()) => true,
        Err(error) => (400..500).contains(&error.status().as_u16()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cursors_open_only_what_was_sealed(
        binding in ".{0,40}",
        other in ".{0,40}",
        position in proptest::collection::vec(any::<u8>(), 0..64),
        garbage in ".{0,300}",
    ) {
        let key = CursorKey::from_secret(&[9; 32]).unwrap();
        let cursor = key.seal(&binding, &position, NOW);
        prop_assert_eq!(key.open::<Vec<u8>>(&binding, &cursor, NOW).unwrap(), position);
        if other != binding {
            prop_assert!(key.open::<Vec<u8>>(&other, &cursor, NOW).is_err());
        }
        // Arbitrary text is refused (a 400), never a panic.
        if let Err(error) = key.open::<Vec<u8>>(&binding, &garbage, NOW) {
            prop_assert_eq!(ApiError::from(error).status().as_u16(), 400);
        }
    }

    #[test]
    fn queue_sort_keys_order_as_the_queue(
        a in (0usize..4, 0i64..4_102_444_800_000, any::<bool>()),
        b in (0usize..4, 0i64..4_102_444_800_000, any::<bool>()),
    ) {
        let request = |(priority, millis, answered): (usize, i64, bool)| {
            let created = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap();
            let request = SupervisorRequest::new(
                StoreId::parse("s").unwrap(),
                NewRequest {
                    request_type: RequestType::Void,
                    priority: Priority::ALL[priority],
                    details: Details::parse("d", "x".into()).unwrap(),
                    timeout: None,
                },
                "u".into(),
                created,
                time::Duration::minutes(1),
            );
            if answered {
                // Half the answers carry a note, so every optional attribute is read back.
                let note = (millis % 2 == 0).then(|| crate::domain::supervisor_request::Note::parse("note", "n".into()).unwrap());
                let supervisor = Actor { subject: "s".into(), role: ActorRole::Supervisor };
                request.respond(crate::domain::supervisor_request::Decision::Approved, note, supervisor, created).unwrap().after.unwrap()
            } else {
                request
            }
        };
        let (ra, rb) = (request(a), request(b));
        let (ka, kb) = (keys::queue_sort_key(&ra), keys::queue_sort_key(&rb));
        // Byte order of the keys is queue order: status, then priority, then age, then id.
        let order = |r: &SupervisorRequest| (r.status().as_str(), r.priority.rank(), r.created_at, r.request_id);
        prop_assert_eq!(ka.cmp(&kb), order(&ra).cmp(&order(&rb)));
        prop_assert!(keys::is_queue_sort_key_of(&ka, ra.status()));
        let other = if ra.is_pending() { crate::domain::supervisor_request::RequestStatus::NotPending } else { crate::domain::supervisor_request::RequestStatus::Pending };
        prop_assert!(!keys::is_queue_sort_key_of(&ka, other));
        // A record read back equals the one written.
        prop_assert_eq!(codec::request_from_item(&keys::record_item(&ra)).unwrap(), ra.clone());
        prop_assert_eq!(codec::request_from_item(&keys::queue_item(&ra)).unwrap(), ra.clone());
        // ... and so does an entry read with the projection lists use: it names every
        // attribute the request needs.
        let projected: Vec<&str> = codec::REQUEST_PROJECTION.split(", ").collect();
        let mut entry = keys::queue_item(&ra);
        entry.retain(|name, _| projected.contains(&name.as_str()));
        prop_assert_eq!(codec::request_from_item(&entry).unwrap(), ra.clone());
        // An event read back equals the one written, with its decision and note.
        let event = RequestEvent::of(EventType::Answered, Some(&rb), Some(&ra), Actor::deadline(), ra.updated_at);
        prop_assert_eq!(codec::event_from_item(&keys::event_item(&event, 1)).unwrap(), event);
    }

    /// A list position (as a cursor carries it) is admitted by a query exactly when the
    /// request it names belongs to that query's result: its status, its priority, created
    /// in `[since, until)`, and (in a time-ranged list, read priority by priority) the
    /// priority the position says it is reading. Anything else would be a start key
    /// DynamoDB refuses, so it must be refused first, as a 400.
    #[test]
    fn list_positions_fit_only_the_queries_they_can_continue(
        (status, priority, millis, rank) in (any::<bool>(), 0usize..4, 0i64..10_000, proptest::option::of(0u8..6)),
        (query_pending, query_priority, since, until) in (
            any::<bool>(),
            proptest::option::of(0usize..4),
            proptest::option::of(0i64..10_000),
            proptest::option::of(0i64..10_000),
        ),
        mangle in proptest::option::of(0usize..40),
    ) {
        use crate::store::requests::{ListPosition, ListQuery};
        use crate::domain::supervisor_request::RequestStatus;
        let at = |ms: i64| OffsetDateTime::from_unix_timestamp_nanos(i128::from(1_700_000_000_000 + ms) * 1_000_000).unwrap();
        let status_of = |pending: bool| if pending { RequestStatus::Pending } else { RequestStatus::NotPending };
        let id = RequestId::parse("01JDXK4W9Q8Y6T3N2M1P0R5S7V").unwrap();
        let key = format!("{}{:013}#{id}", keys::priority_prefix(status_of(status), Priority::ALL[priority]), 1_700_000_000_000 + millis);
        let query = ListQuery {
            store: StoreId::parse("s").unwrap(),
            status: status_of(query_pending),
            since: since.map(at),
            until: until.map(at),
            limit: 10,
            now: NOW,
            priority: query_priority.map(|p| Priority::ALL[p]),
            requested_by: None,
            decision: None,
        };
        let ranged = since.is_some() || until.is_some();
        let reading = rank.and_then(Priority::from_rank);
        let belongs = status == query_pending
            && query.priority.is_none_or(|p| p == Priority::ALL[priority])
            && since.is_none_or(|since| millis >= since)
            && until.is_none_or(|until| millis < until);
        let rank_fits = match rank {
            None => !ranged || Priority::ALL[priority] == Priority::Urgent,
            Some(_) => ranged && reading == Some(Priority::ALL[priority]),
        };
        prop_assert_eq!(
            query.admits(&ListPosition { rank, after: Some(key.clone()) }),
            belongs && rank_fits,
            "{} for {:?}", key, (query_pending, query.priority, since, until, rank)
        );
        // A position with no key continues at a priority only in a time-ranged list.
        prop_assert_eq!(
            query.admits(&ListPosition { rank, after: None }),
            match rank {
                None => true,
                Some(_) => ranged && reading.is_some_and(|p| query.priority.is_none_or(|q| q == p)),
            }
        );
        // A key altered anywhere no longer names a request's queue entry, or names another.
        if let Some(at) = mangle.filter(|at| *at < key.len()) {
            let mut altered = key.clone().into_bytes();
            altered[at] = b'x';
            let altered = String::from_utf8(altered).unwrap();
            if altered != key && keys::parse_queue_sort_key(&altered).is_none() {
                let position = ListPosition { rank, after: Some(altered) };
                prop_assert!(!query.admits(&position));
            }
        }
    }

    #[test]
    fn ids_parse_their_own_spelling_and_nothing_else(raw in ".{0,80}") {
        if let Ok(store) = StoreId::parse(&raw) {
            prop_assert_eq!(store.as_str(), raw.as_str());
            prop_assert!(!raw.contains('#'));
        }
        if let Ok(id) = RequestId::parse(&raw) {
            prop_assert_eq!(id.to_string(), raw);
        }
    }

    #[test]
    fn tokens_of_any_shape_are_denied_without_panic(
        header in "(Bearer |bearer |Basic |)[A-Za-z0-9_.=-]{0,200}",
        segments in proptest::collection::vec("[A-Za-z0-9_-]{0,60}", 0..5),
    ) {
        let authenticator = Authenticator::with_hs256_secret(&[3; 32], "iss", "aud").unwrap();
        prop_assert!(authenticator.verify(Some(&header)).now_or_never().expect("static keys never wait").is_err());
        let dotted = format!("Bearer {}", segments.join("."));
        prop_assert!(authenticator.verify(Some(&dotted)).now_or_never().expect("static keys never wait").is_err());
    }

    #[test]
    fn request_bodies_of_any_bytes_are_a_client_error_or_valid(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        json in json_value(),
    ) {
        for input in [bytes.clone(), json.to_string().into_bytes()] {
            prop_assert!(client_error(parse_json::<NewRequestBody>(&input).and_then(|b| b.validate().map(|_| ()).map_err(ApiError::from))));
            prop_assert!(client_error(parse_json::<RequestEditBody>(&input).and_then(|b| b.validate().map(|_| ()).map_err(ApiError::from))));
            prop_assert!(client_error(parse_json::<ResponseBody>(&input).and_then(|b| b.validate().map(|_| ()).map_err(ApiError::from))));
            prop_assert!(client_error(parse_json::<crate::domain::catalog::NewItemBody>(&input).map(|_| ())));
            prop_assert!(client_error(parse_json::<crate::domain::catalog::ScoringWeightsBody>(&input).and_then(|w| w.validate().map(|_| ()).map_err(ApiError::from))));
        }
    }
}

/// JSON shaped like the API's bodies: the known field names with values of any type.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        prop_oneof![
            Just("REFUND".to_owned()),
            Just("URGENT".to_owned()),
            Just("USD".to_owned()),
            ".{0,20}"
        ]
        .prop_map(serde_json::Value::from),
    ];
    let names = prop_oneof![
        Just("requestType"),
        Just("priority"),
        Just("details"),
        Just("timeoutSeconds"),
        Just("decision"),
        Just("note"),
        Just("version"),
        Just("vendor"),
        Just("price"),
        Just("amount"),
        Just("currency"),
        Just("status"),
        Just("priceWeight"),
        Just("other"),
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(names.clone().prop_map(str::to_owned), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
