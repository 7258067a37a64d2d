//! Every HTTP route of the API and the function that serves it: the one list the local
//! gateway serves from, and that tests hold `template.yaml` and `events/` to.

use std::collections::HashMap;

use crate::error::Failure::{self, *};
use crate::validation::IdKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// API Gateway path template, `{name}` for a path parameter.
    pub path: &'static str,
    /// The function crate, binary, and `events/` fixture name.
    pub function: &'static str,
    /// The query parameters it takes; any other is refused with 400, so a typo never reads
    /// as an empty filter.
    pub query: &'static [&'static str],
    /// The kinds of failure its handler meets beyond those every route, its path and its
    /// query imply ([`Route::failures`]): the error codes the OpenAPI document lists for it.
    pub fails_with: &'static [Failure],
}

const PAGE: &[&str] = &["limit", "cursor"];

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/stores/{storeId}/supervisor-requests",
        function: "create-request",
        query: &[],
        fails_with: &[Body, Idempotency],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/supervisor-requests",
        function: "list-requests",
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
        query: &[],
        fails_with: &[NotFound],
    },
    Route {
        method: "PATCH",
        path: "/stores/{storeId}/supervisor-requests/{requestId}",
        function: "update-request",
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
        query: &[],
        fails_with: &[IfMatch, NotFound, PendingRequest, Contention],
    },
    Route {
        method: "POST",
        path: "/stores/{storeId}/supervisor-requests/{requestId}/response",
        function: "respond-to-request",
        query: &[],
        fails_with: &[Body, NotFound, OpenRequest, OwnRequest, Contention],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/supervisor-requests/{requestId}/events",
        function: "list-request-events",
        query: PAGE,
        fails_with: &[NotFound],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/supervisor-request-events",
        function: "list-store-events",
        query: PAGE,
        fails_with: &[],
    },
    Route {
        method: "POST",
        path: "/stores/{storeId}/master-items",
        function: "create-master-item",
        query: &[],
        fails_with: &[Body, Idempotency],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/master-items",
        function: "list-master-items",
        query: PAGE,
        fails_with: &[],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/master-items/{masterItemId}",
        function: "get-master-item",
        query: &[],
        fails_with: &[NotFound],
    },
    Route {
        method: "PATCH",
        path: "/stores/{storeId}/master-items/{masterItemId}",
        function: "update-master-item",
        query: &[],
        fails_with: &[Body, IfMatch, RequiredVersion, NotFound],
    },
    Route {
        method: "DELETE",
        path: "/stores/{storeId}/master-items/{masterItemId}",
        function: "delete-master-item",
        query: &[],
        fails_with: &[IfMatch, NotFound, MasterItemItems],
    },
    Route {
        method: "POST",
        path: "/stores/{storeId}/master-items/{masterItemId}/items",
        function: "create-item",
        query: &[],
        fails_with: &[Body, Idempotency, NotFound, Contention],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/master-items/{masterItemId}/items",
        function: "list-items",
        query: &["status", "limit", "cursor"],
        fails_with: &[NotFound],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/items/{itemId}",
        function: "get-item",
        query: &[],
        fails_with: &[NotFound],
    },
    Route {
        method: "PATCH",
        path: "/stores/{storeId}/items/{itemId}",
        function: "update-item",
        query: &[],
        fails_with: &[Body, IfMatch, RequiredVersion, NotFound],
    },
    Route {
        method: "DELETE",
        path: "/stores/{storeId}/items/{itemId}",
        function: "delete-item",
        query: &[],
        fails_with: &[IfMatch, NotFound, Contention],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/master-items/{masterItemId}/preferred-item",
        function: "get-preferred-item",
        query: &[],
        fails_with: &[NotFound, Candidates],
    },
    Route {
        method: "PUT",
        path: "/stores/{storeId}/master-items/{masterItemId}/preferred-item/pin",
        function: "pin-preferred-item",
        query: &[],
        fails_with: &[Body, NotFound, Pin, Contention],
    },
    Route {
        method: "DELETE",
        path: "/stores/{storeId}/master-items/{masterItemId}/preferred-item/pin",
        function: "unpin-preferred-item",
        query: &[],
        fails_with: &[NotFound],
    },
    Route {
        method: "GET",
        path: "/stores/{storeId}/scoring-weights",
        function: "get-scoring-weights",
        query: &[],
        fails_with: &[],
    },
    Route {
        method: "PUT",
        path: "/stores/{storeId}/scoring-weights",
        function: "put-scoring-weights",
        query: &[],
        fails_with: &[Body, IfMatch],
    },
];

/// The API's capabilities as deployed: each is one binary that all of its routes' functions
/// run (`http-api`), since a release build pays fat LTO per binary, not per route. Preferred
/// items are two: the catalogue, and the choice over it (scoring, pins), which keeps each
/// binary's zip well under 3 MB (BENCHMARKS.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Capability {
    /// Requests, answers and the audit trail.
    SupervisorRequests,
    /// Master items and their items: the catalogue.
    Catalog,
    /// The preferred item of a master item, its pin, the store's scoring weights.
    PreferredItems,
}

impl Capability {
    /// The deployment binary (`BuildProperties.Binary` of its functions in `template.yaml`).
    pub const fn binary(self) -> &'static str {
        match self {
            Self::SupervisorRequests => "supervisor-requests-api",
            Self::Catalog => "catalog-api",
            Self::PreferredItems => "preferred-items-api",
        }
    }

    pub const ALL: [Self; 3] = [
        Self::SupervisorRequests,
        Self::Catalog,
        Self::PreferredItems,
    ];
}

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

    /// Which capability the route belongs to, by its path.
    pub fn capability(&self) -> Capability {
        if self
            .path
            .starts_with("/stores/{storeId}/supervisor-request")
        {
            Capability::SupervisorRequests
        } else if self.path.contains("/preferred-item") || self.path.contains("/scoring-weights") {
            Capability::PreferredItems
        } else {
            Capability::Catalog
        }
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
