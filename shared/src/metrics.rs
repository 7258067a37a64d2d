//! Counting DynamoDB requests at the SDK, for tests that pin down the cost of each route and
//! for benchmarks.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

/// Records the operation name (`GetItem`, `TransactWriteItems` …) of every request the client
/// sends, retries included, since each is a request DynamoDB serves and bills.
#[derive(Clone, Debug, Default)]
pub struct RequestLog(Arc<Mutex<Vec<String>>>);

impl RequestLog {
    /// The operations sent since the last call, in order; the log starts afresh.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("request log lock"))
    }
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
        let operation = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.rsplit('.').next())
            .unwrap_or("unknown")
            .to_owned();
        self.0.lock().expect("request log lock").push(operation);
        Ok(())
    }
}
