//! Counting DynamoDB requests at the SDK, for tests that pin down the cost of each route and
//! for benchmarks.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

/// Records the operation name (`GetItem`, `TransactWriteItems` …) of every request the client
/// sends, retries included, since each is a request DynamoDB serves and bills; and, by asking
/// DynamoDB for `ReturnConsumedCapacity`, the read and write units each consumed, which is
/// what on-demand billing counts.
#[derive(Clone, Debug, Default)]
pub struct RequestLog(Arc<Mutex<Recorded>>);

#[derive(Debug, Default)]
struct Recorded {
    operations: Vec<String>,
    units: CapacityUnits,
}

/// Read and write capacity units consumed, as DynamoDB reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CapacityUnits {
    pub read: f64,
    pub write: f64,
}

impl RequestLog {
    /// The operations sent since the last call, in order; the log starts afresh.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().expect("request log lock").operations)
    }

    /// The capacity units consumed since the last call; the count starts afresh.
    pub fn take_units(&self) -> CapacityUnits {
        std::mem::take(&mut self.0.lock().expect("request log lock").units)
    }
}

fn operation(target: Option<&str>) -> &str {
    target
        .and_then(|target| target.rsplit('.').next())
        .unwrap_or("unknown")
}

impl Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The JSON protocol names the operation in X-Amz-Target: "DynamoDB_20120810.GetItem".
        let operation = operation(context.request().headers().get("x-amz-target")).to_owned();
        self.0
            .lock()
            .expect("request log lock")
            .operations
            .push(operation);
        Ok(())
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let Some(mut body) = request
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        else {
            return Ok(());
        };
        // Only operations that take it (not DescribeTable and the like).
        let consumes = matches!(
            operation(request.headers().get("x-amz-target")),
            "GetItem"
                | "PutItem"
                | "UpdateItem"
                | "DeleteItem"
                | "Query"
                | "Scan"
                | "BatchGetItem"
                | "BatchWriteItem"
                | "TransactGetItems"
                | "TransactWriteItems"
        );
        if consumes && let Some(fields) = body.as_object_mut() {
            fields.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
            let bytes = serde_json::to_vec(&body)?;
            request
                .headers_mut()
                .insert("content-length", bytes.len().to_string());
            *request.body_mut() = bytes.into();
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(body) = context
            .response()
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        else {
            return Ok(());
        };
        // One object, or one per table for transactions and batches.
        let units: f64 = match &body["ConsumedCapacity"] {
            serde_json::Value::Array(tables) => tables
                .iter()
                .filter_map(|t| t["CapacityUnits"].as_f64())
                .sum(),
            one => one["CapacityUnits"].as_f64().unwrap_or(0.0),
        };
        // Which operation this answers: the SDK keeps its name in the operation's config bag.
        let writes = matches!(
            cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
                .map(|metadata| metadata.name()),
            Some("PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems")
        );
        let mut recorded = self.0.lock().expect("request log lock");
        if writes {
            recorded.units.write += units;
        } else {
            recorded.units.read += units;
        }
        Ok(())
    }
}
