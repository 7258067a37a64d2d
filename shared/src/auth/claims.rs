//! Which claims name the caller, their role and their stores: set by configuration, so the
//! tokens of Cognito, Entra ID, Okta or Auth0 work as they come.

use std::env;

use serde_json::{Map, Value};

use super::Denial;
use crate::auth::principal::{Principal, Role};
use crate::domain::ids::StoreId;

/// Where the role comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleSource {
    /// A claim whose value is the role's name (`associate`, `supervisor`, `admin`).
    Claim(String),
    /// A claim listing groups (an array, or one string), each mapped to a role; the highest
    /// mapped role counts, unmapped groups are ignored.
    Groups {
        claim: String,
        roles: Vec<(String, Role)>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimMapping {
    pub subject: String,
    pub role: RoleSource,
    /// A claim holding the store ids: an array, or a comma-separated string.
    pub stores: String,
}

impl Default for ClaimMapping {
    /// This API's own claims: `sub`, `role`, `stores`.
    fn default() -> Self {
        Self {
            subject: "sub".into(),
            role: RoleSource::Claim("role".into()),
            stores: "stores".into(),
        }
    }
}

impl ClaimMapping {
    /// `JWT_SUBJECT_CLAIM` (default `sub`), `JWT_ROLE_CLAIM` (default `role`),
    /// `JWT_ROLE_GROUPS` (e.g. `store-supervisors=supervisor,store-admins=admin`: the role
    /// claim then lists groups), `JWT_STORES_CLAIM` (default `stores`).
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str, default: &str| {
            env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let role_claim = var("JWT_ROLE_CLAIM", "role");
        let role = match env::var("JWT_ROLE_GROUPS")
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            None => RoleSource::Claim(role_claim),
            Some(pairs) => RoleSource::Groups {
                claim: role_claim,
                roles: parse_groups(&pairs)?,
            },
        };
        Ok(Self {
            subject: var("JWT_SUBJECT_CLAIM", "sub"),
            role,
            stores: var("JWT_STORES_CLAIM", "stores"),
        })
    }

    /// The caller a token's claims name, or `InvalidClaims`.
    pub fn principal(&self, claims: &Map<String, Value>) -> Result<Principal, Denial> {
        let subject = match claims.get(&self.subject) {
            Some(Value::String(subject)) if !subject.is_empty() => subject.clone(),
            _ => return Err(Denial::InvalidClaims),
        };
        let role = match &self.role {
            RoleSource::Claim(claim) => claims
                .get(claim)
                .and_then(Value::as_str)
                .and_then(Role::parse),
            RoleSource::Groups { claim, roles } => strings(claims.get(claim))
                .iter()
                .filter_map(|group| {
                    roles
                        .iter()
                        .find(|(name, _)| name == group)
                        .map(|(_, role)| *role)
                })
                .max(),
        }
        .ok_or(Denial::InvalidClaims)?;
        let stores = strings(claims.get(&self.stores))
            .iter()
            .map(|store| StoreId::parse(store))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Denial::InvalidClaims)?;
        if stores.is_empty() {
            return Err(Denial::InvalidClaims);
        }
        Ok(Principal {
            subject,
            role,
            stores,
        })
    }
}

/// `group=role,group=role`.
pub fn parse_groups(pairs: &str) -> Result<Vec<(String, Role)>, String> {
    pairs
        .split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (group, role) = pair
                .split_once('=')
                .ok_or_else(|| format!("JWT_ROLE_GROUPS: {pair:?} is not group=role"))?;
            let role = Role::parse(role.trim())
                .ok_or_else(|| format!("JWT_ROLE_GROUPS: {role:?} is not a role"))?;
            Ok((group.trim().to_owned(), role))
        })
        .collect()
}

/// A claim as a list of strings: an array of strings, or one comma-separated string.
/// Anything else is no list (and so no role or store).
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => {
            let texts: Option<Vec<String>> = items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect();
            texts.unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn groups_map_to_the_highest_role_and_stores_come_as_arrays_or_strings() {
        let mapping = ClaimMapping {
            subject: "sub".into(),
            role: RoleSource::Groups {
                claim: "groups".into(),
                roles: parse_groups("staff=associate, leads=supervisor,managers=admin").unwrap(),
            },
            stores: "stores".into(),
        };
        let principal = mapping
            .principal(&map(
                json!({"sub": "u", "groups": ["staff", "leads", "other"], "stores": "s-1, s-2"}),
            ))
            .unwrap();
        assert_eq!(principal.role, Role::Supervisor);
        assert_eq!(principal.stores.len(), 2);
        for denied in [
            json!({"sub": "u", "groups": ["other"], "stores": ["s-1"]}),
            json!({"sub": "u", "groups": ["leads"], "stores": []}),
            json!({"sub": "u", "groups": ["leads"], "stores": [1]}),
            json!({"sub": "", "groups": ["leads"], "stores": ["s-1"]}),
            json!({"groups": "leads", "stores": ["s-1"]}),
        ] {
            assert_eq!(mapping.principal(&map(denied)), Err(Denial::InvalidClaims));
        }
        assert!(parse_groups("leads").is_err());
        assert!(parse_groups("leads=owner").is_err());
    }
}
