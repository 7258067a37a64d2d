//! Fault injection at the SDK boundary, against the real DynamoDB Local.
//!
//! An interceptor picks requests by operation and, for each, (1) turns the request into a
//! harmless read before it is sent, so DynamoDB applies nothing, and (2) replaces the answer
//! with the fault: a throttling error or a 500, exactly as DynamoDB would send them. The SDK's
//! retry policy, our error mapping and our transactions then meet the fault as in AWS.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 400 `ThrottlingException`: retryable.
    Throttling,
    /// 500 `InternalServerError`: retryable.
    ServerError,
}

#[derive(Debug)]
struct Rule {
    operation: &'static str,
    fault: Fault,
    /// How many more requests this rule fails; `None` for all of them.
    remaining: Option<u32>,
}

/// Fails chosen DynamoDB requests. Cloned handles share their rules.
#[derive(Clone, Debug, Default)]
pub struct FaultInjector(Arc<Mutex<Vec<Rule>>>);

/// The fault injected into the current attempt, if any. Set on every attempt: the
/// interceptor state lives as long as the operation, across its retries.
#[derive(Debug, Clone, Copy)]
struct Injected(Option<Fault>);

impl Storable for Injected {
    type Storer = StoreReplace<Self>;
}

impl FaultInjector {
    /// Fails the next `times` requests of `operation` (every one with `None`).
    pub fn fail(&self, operation: &'static str, fault: Fault, times: Option<u32>) {
        self.0.lock().unwrap().push(Rule {
            operation,
            fault,
            remaining: times,
        });
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    fn take(&self, operation: &str) -> Option<Fault> {
        let mut rules = self.0.lock().unwrap();
        let rule = rules
            .iter_mut()
            .find(|r| r.operation == operation && r.remaining != Some(0))?;
        if let Some(remaining) = &mut rule.remaining {
            *remaining -= 1;
        }
        Some(rule.fault)
    }
}

impl Intercept for FaultInjector {
    fn name(&self) -> &'static str {
        "FaultInjector"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_owned();
        let fault = self.take(&operation);
        if fault.is_some() {
            // What reaches DynamoDB is a read of nothing: the faulted write is never applied.
            let request = context.request_mut();
            request
                .headers_mut()
                .insert("x-amz-target", "DynamoDB_20120810.DescribeLimits");
            request.headers_mut().insert("content-length", "2");
            *request.body_mut() = SdkBody::from("{}");
        }
        cfg.interceptor_state().store_put(Injected(fault));
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Injected(Some(fault))) = cfg.load::<Injected>().copied() else {
            return Ok(());
        };
        let (status, kind) = match fault {
            Fault::Throttling => (400, "ThrottlingException"),
            Fault::ServerError => (500, "InternalServerError"),
        };
        let response = context.response_mut();
        *response.status_mut() = StatusCode::try_from(status).expect("valid status");
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        response.headers_mut().insert("x-amzn-errortype", kind);
        *response.body_mut() = SdkBody::from(format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"injected fault"}}"#
        ));
        Ok(())
    }
}
