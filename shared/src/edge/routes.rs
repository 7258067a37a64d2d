//! Every HTTP route of the API and the function that serves it: the one list the local
//! gateway serves from, and that tests hold `template.yaml` and `events/` to.

use std::collections::HashMap;

use crate::domain::validation::IdKind;
use crate::edge::error::Failure::{self, *};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// API Gateway path template, `{name}` for a path parameter.
    pub path: &'static str,
    /// The function crate, binary, and `events/` fixture name.
    pub function: &'static str,
    /// What it does, as a type: dispatch matches on this, never on the name.
    pub operation: Operation,
    /// The query parameters it takes; any other is refused with 400, so a typo never reads
    /// as an empty filter.
    pub query: &'static [&'static str],
    /// The kinds of failure its handler meets beyond those every route, its path and its
    /// query imply ([`Route::failures`]): the error codes the OpenAPI document lists for it.
    pub fails_with: &'static [Failure],
}

/// Every operation of the HTTP API: one route, one function, one handler each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateRequest,
    ListRequests,
    GetRequest,
    UpdateRequest,
    DeleteRequest,
    RespondToRequest,
    ListRequestEvents,
    ListStoreEvents,
    GetRequestReport,
    CreateMasterItem,
    ListMasterItems,
    GetMasterItem,
    UpdateMasterItem,
    DeleteMasterItem,
    CreateItem,
    ListItems,
    GetItem,
    UpdateItem,
    DeleteItem,
    GetPreferredItem,
    PinPreferredItem,
    UnpinPreferredItem,
    GetScoringWeights,
    PutScoringWeights,
}

impl Operation {
    pub const ALL: [Self; 24] = [
        Self::CreateRequest,
        Self::ListRequests,
        Self::GetRequest,
        Self::UpdateRequest,
        Self::DeleteRequest,
        Self::RespondToRequest,
        Self::ListRequestEvents,
        Self::ListStoreEvents,
        Self::GetRequestReport,
        Self::CreateMasterItem,
        Self::ListMasterItems,
        Self::GetMasterItem,
        Self::UpdateMasterItem,
        Self::DeleteMasterItem,
        Self::CreateItem,
        Self::ListItems,
        Self::GetItem,
        Self::UpdateItem,
        Self::DeleteItem,
        Self::GetPreferredItem,
        Self::PinPreferredItem,
        Self::UnpinPreferredItem,
        Self::GetScoringWeights,
        Self::PutScoringWeights,
    ];

    /// Its route in [`ROUTES`].
    pub fn route(self) -> &'static Route {
        ROUTES
            .iter()
            .find(|route| route.operation == self)
            .expect("every operation has its route")
    }
}

const PAGE: &[&str] = &["limit", "cursor"];

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/stores/{storeId}/supervisor-requests",
        function: "create-request",
        operation: Operation::CreateRequest,
        query: &[],
        fails_with: &[Body, Idempotency],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/supervisor-requests",
        function: "list-requests",
        operation: Operation::ListRequests,
        query: &[
            "status",
            "priority",
            "requestedBy",
            "since",
            "until",
            "decision",
            "order",
            "limit",
            "cursor",
        ],
        fails_with: &[],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/supervisor-requests/{requestId}",
        function: "get-request",
        operation: Operation::GetRequest,
        query: &[],
        fails_with: &[NotFound],
    },
    Route {
        method: "PATCH",
        path: "/stores/{storeId}/supervisor-requests/{requestId}",
        function: "update-request",
        operation: Operation::UpdateRequest,
        query: &[],
        fails_with: &[
            Body,
            IfMatch,
            RequiredVersion,
            NotFound,
            OpenRequest,
            Contention,
        ],
    },
    Route {
        method: "DELETE",
        path: "/stores/{storeId}/supervisor-requests/{requestId}",
        function: "delete-request",
        operation: Operation::DeleteRequest,
        query: &[],
        fails_with: &[IfMatch, NotFound, PendingRequest, Contention],
    },
    Route {
        method: "POST",
        path: "/stores/{storeId}/supervisor-requests/{requestId}/response",
        function: "respond-to-request",
        operation: Operation::RespondToRequest,
        query: &[],
        fails_with: &[Body, NotFound, OpenRequest, OwnRequest, Contention],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/supervisor-requests/{requestId}/events",
        function: "list-request-events",
        operation: Operation::ListRequestEvents,
        query: PAGE,
        fails_with: &[NotFound],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/supervisor-request-events",
        function: "list-store-events",
        operation: Operation::ListStoreEvents,
        query: PAGE,
        fails_with: &[],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/reports/supervisor-requests",
        function: "get-request-report",
        operation: Operation::GetRequestReport,
        query: &["from", "to", "tz", "groupBy"],
        fails_with: &[],
    },
    Route {
        method: "POST",
        path: "/stores/{storeId}/master-items",
        function: "create-master-item",
        operation: Operation::CreateMasterItem,
        query: &[],
        fails_with: &[Body, Idempotency],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/master-items",
        function: "list-master-items",
        operation: Operation::ListMasterItems,
        query: PAGE,
        fails_with: &[],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/master-items/{masterItemId}",
        function: "get-master-item",
        operation: Operation::GetMasterItem,
        query: &[],
        fails_with: &[NotFound],
    },
    Route {
        method: "PATCH",
        path: "/stores/{storeId}/master-items/{masterItemId}",
        function: "update-master-item",
        operation: Operation::UpdateMasterItem,
        query: &[],
        fails_with: &[Body, IfMatch, RequiredVersion, NotFound],
    },
    Route {
        method: "DELETE",
        path: "/stores/{storeId}/master-items/{masterItemId}",
        function: "delete-master-item",
        operation: Operation::DeleteMasterItem,
        query: &[],
        fails_with: &[IfMatch, NotFound, MasterItemItems],
    },
    Route {
        method: "POST",
        path: "/stores/{storeId}/master-items/{masterItemId}/items",
        function: "create-item",
        operation: Operation::CreateItem,
        query: &[],
        fails_with: &[Body, Idempotency, NotFound, Contention],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/master-items/{masterItemId}/items",
        function: "list-items",
        operation: Operation::ListItems,
        query: &["status", "limit", "cursor"],
        fails_with: &[NotFound],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/items/{itemId}",
        function: "get-item",
        operation: Operation::GetItem,
        query: &[],
        fails_with: &[NotFound],
    },
    Route {
        method: "PATCH",
        path: "/stores/{storeId}/items/{itemId}",
        function: "update-item",
        operation: Operation::UpdateItem,
        query: &[],
        fails_with: &[Body, IfMatch, RequiredVersion, NotFound],
    },
    Route {
        method: "DELETE",
        path: "/stores/{storeId}/items/{itemId}",
        function: "delete-item",
        operation: Operation::DeleteItem,
        query: &[],
        fails_with: &[IfMatch, NotFound, Contention],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/master-items/{masterItemId}/preferred-item",
        function: "get-preferred-item",
        operation: Operation::GetPreferredItem,
        query: &[],
        fails_with: &[NotFound, Candidates],
    },
    Route {
        method: "PUT",
        path: "/stores/{storeId}/master-items/{masterItemId}/preferred-item/pin",
        function: "pin-preferred-item",
        operation: Operation::PinPreferredItem,
        query: &[],
        fails_with: &[Body, NotFound, Pin, Contention],
    },
    Route {
        method: "DELETE",
        path: "/stores/{storeId}/master-items/{masterItemId}/preferred-item/pin",
        function: "unpin-preferred-item",
        operation: Operation::UnpinPreferredItem,
        query: &[],
        fails_with: &[NotFound],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/scoring-weights",
        function: "get-scoring-weights",
        operation: Operation::GetScoringWeights,
        query: &[],
        fails_with: &[],
    },
    Route {
        method: "PUT",
        path: "/stores/{storeId}/scoring-weights",
        function: "put-scoring-weights",
        operation: Operation::PutScoringWeights,
        query: &[],
        fails_with: &[Body, IfMatch],
    },
];

impl Route {
    /// Every kind of failure its handler meets: those of every route, of its path's ids, of
    /// its query parameters, and its own ([`Route::fails_with`]).
    pub fn failures(&self) -> Vec<Failure> {
        let mut failures = vec![Edge];
        failures.extend(self.path_parameters().filter_map(|name| {
            Some(PathId(match name {
                "requestId" => IdKind::Request,
                "masterItemId" => IdKind::MasterItem,
                "itemId" => IdKind::Item,
                _ => return None, // storeId: every route's (Edge)
            }))
        }));
        if !self.query.is_empty() {
            failures.push(Query);
        }
        if self.query.contains(&"cursor") {
            failures.push(Cursor);
        }
        failures.extend_from_slice(self.fails_with);
        failures
    }

    /// The names of its path parameters, in order.
    pub fn path_parameters(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
    }

    /// API Gateway's route key, e.g. `GET /stores/{storeId}/supervisor-requests`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path parameters, if `path` fits this route's template. A parameter matches one
    /// non-empty segment, as in API Gateway.
    pub fn match_path(&self, path: &str) -> Option<HashMap<String, String>> {
        let mut template = self.path.trim_matches('/').split('/');
        let mut actual = path.trim_matches('/').split('/');
        let mut params = HashMap::new();
        loop {
            match (template.next(), actual.next()) {
                (None, None) => return Some(params),
                (Some(t), Some(a)) if t.starts_with('{') && t.ends_with('}') && !a.is_empty() => {
                    params.insert(t[1..t.len() - 1].to_owned(), a.to_owned());
                }
                (Some(t), Some(a)) if t == a => {}
                _ => return None,
            }
        }
    }
}

/// The route API Gateway matched for a request (its `routeKey`), if it is one of ours.
pub fn of_key(route_key: &str) -> Option<&'static Route> {
    let (method, path) = route_key.split_once(' ')?;
    ROUTES
        .iter()
        .find(|route| route.method == method && route.path == path)
}

/// The route for a request, and its path parameters; or, when none matches, the methods the
/// path has (empty: no such path, a 404; otherwise a 405 with `Allow`).
pub fn find(
    method: &str,
    path: &str,
) -> Result<(&'static Route, HashMap<String, String>), Vec<&'static str>> {
    let mut allowed = Vec::new();
    for route in ROUTES {
        if let Some(params) = route.match_path(path) {
            if route.method == method {
                return Ok((route, params));
            }
            allowed.push(route.method);
        }
    }
    Err(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_has_exactly_one_route_named_after_it() {
        for operation in Operation::ALL {
            let routes: Vec<&Route> = ROUTES.iter().filter(|r| r.operation == operation).collect();
            assert_eq!(routes.len(), 1, "{operation:?}");
            let name: String = routes[0]
                .function
                .split('-')
                .map(|word| word[..1].to_uppercase() + &word[1..])
                .collect();
            assert_eq!(format!("{operation:?}"), name);
        }
        assert_eq!(ROUTES.len(), Operation::ALL.len());
    }

    #[test]
    fn routes_match_their_paths_and_only_them() {
        let (route, params) =
            find("POST", "/stores/s1/supervisor-requests/01ABC/response").unwrap();
        assert_eq!(route.function, "respond-to-request");
        assert_eq!(params["storeId"], "s1");
        assert_eq!(params["requestId"], "01ABC");
        assert_eq!(
            find("GET", "/stores/s1/supervisor-requests")
                .unwrap()
                .0
                .function,
            "list-requests"
        );
        assert_eq!(
            find("PUT", "/stores/s1/supervisor-requests"),
            Err(vec!["POST", "GET"])
        );
        assert_eq!(find("GET", "/stores//supervisor-requests"), Err(vec![]));
        assert_eq!(find("GET", "/stores/s1/other"), Err(vec![]));
        assert_eq!(
            find("GET", "/stores/s1/supervisor-requests/x/y/z"),
            Err(vec![])
        );
    }
}
