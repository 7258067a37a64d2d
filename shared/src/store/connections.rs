//! Who is listening: the open WebSocket connections, each with the principal that opened it
//! for one store. `$connect` writes one, `$disconnect` (or a 410 Gone from API Gateway)
//! removes it, and `notify` reads a store's to push a change to those who may see it.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use time::{Duration, OffsetDateTime};

use crate::auth::principal::{Principal, Role};
use crate::domain::ids::StoreId;
use crate::store::attributes::{ROLE, SUBJECT};
use crate::store::codec::{Attributes, MalformedItem, get_n, get_s, n, s};
use crate::store::keys::{CONNECTION_ID, CONNECTIONS_BY_STORE_INDEX, EXPIRES_AT, PARTITION_KEY};
use crate::store::table::{StoreError, Table, classify, query_all};

/// API Gateway closes a WebSocket connection after two hours; its record goes with it.
pub const CONNECTION_LIFETIME: Duration = Duration::hours(2);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub connection_id: String,
    /// Who opened it, for the one store it listens to.
    pub listener: Principal,
    pub expires_at: OffsetDateTime,
}

impl Connection {
    pub fn store(&self) -> &StoreId {
        &self.listener.stores[0]
    }
}

#[derive(Clone, Debug)]
pub struct ConnectionStore {
    table: Table,
}

impl ConnectionStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }

    pub fn table(&self) -> &str {
        self.table.name()
    }

    pub fn client(&self) -> &Client {
        self.table.client()
    }

    pub async fn put(&self, connection: &Connection) -> Result<(), StoreError> {
        let item = HashMap::from([
            (CONNECTION_ID.to_owned(), s(&connection.connection_id)),
            (PARTITION_KEY.to_owned(), s(connection.store().as_str())),
            (SUBJECT.to_owned(), s(&connection.listener.subject)),
            (ROLE.to_owned(), s(connection.listener.role.as_str())),
            (
                EXPIRES_AT.to_owned(),
                n(connection.expires_at.unix_timestamp()),
            ),
        ]);
        self.table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    pub async fn delete(&self, connection_id: &str) -> Result<(), StoreError> {
        self.table
            .client()
            .delete_item()
            .table_name(self.table.name())
            .key(CONNECTION_ID, AttributeValue::S(connection_id.to_owned()))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// Every live connection listening to `store` (expired ones TTL has not yet removed are
    /// left out).
    pub async fn listening_to(
        &self,
        store: &StoreId,
        now: OffsetDateTime,
    ) -> Result<Vec<Connection>, StoreError> {
        let query = self
            .table
            .client()
            .query()
            .table_name(self.table.name())
            .index_name(CONNECTIONS_BY_STORE_INDEX)
            .key_condition_expression("#store = :store")
            .expression_attribute_names("#store", PARTITION_KEY)
            .expression_attribute_values(":store", s(store.as_str()));
        let mut connections = query_all(query, |item| connection_from_item(&item)).await?;
        connections.retain(|connection| connection.expires_at > now);
        Ok(connections)
    }
}

fn connection_from_item(item: &Attributes) -> Result<Connection, MalformedItem> {
    let expires: i64 = get_n(item, EXPIRES_AT)?;
    Ok(Connection {
        connection_id: get_s(item, CONNECTION_ID)?.to_owned(),
        listener: Principal {
            subject: get_s(item, SUBJECT)?.to_owned(),
            role: Role::parse(get_s(item, ROLE)?).ok_or(MalformedItem(ROLE))?,
            stores: vec![
                StoreId::parse(get_s(item, PARTITION_KEY)?)
                    .map_err(|_| MalformedItem(PARTITION_KEY))?,
            ],
        },
        expires_at: OffsetDateTime::from_unix_timestamp(expires)
            .map_err(|_| MalformedItem(EXPIRES_AT))?,
    })
}
