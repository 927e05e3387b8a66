//! The AWS SDK's HTTP client: reqwest over `aegis-http`'s TLS configuration, in place of the
//! SDK's default hyper client. One HTTP stack and one root store per process, shared with
//! the Gitea client (the SDK's client would read and parse the system roots again, and link
//! a second copy of hyper-rustls and HTTP/2).
//!
//! Errors are classified the way the SDK's own client classifies them, so its retry policy
//! is unchanged: timeouts as timeouts, failures to connect or mid-exchange as I/O (retried),
//! a request that cannot be built as a user error (not retried).

use std::sync::Mutex;
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// (connect timeout, read timeout) of one connector
type Timeouts = (Option<Duration>, Option<Duration>);

/// What the SDK asks for a connector; one reqwest client (and connection pool) per distinct
/// pair of timeouts, built on first use and kept (the SDK asks once per request attempt).
#[derive(Debug, Default)]
pub(super) struct SdkHttpClient {
    connectors: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

impl HttpClient for SdkHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, connector)) = connectors.iter().find(|(k, _)| *k == key) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(Connector::new(key));
        connectors.push((key, connector.clone()));
        connector
    }
}

#[derive(Debug)]
struct Connector {
    /// The TLS setup error, when there is no usable root store: every call fails with it
    client: Result<reqwest::Client, String>,
}

impl Connector {
    fn new((connect, read): Timeouts) -> Self {
        let client = aegis_http::client_builder()
            .map_err(|e| e.to_string())
            .and_then(|mut builder| {
                if let Some(d) = connect {
                    builder = builder.connect_timeout(d);
                }
                if let Some(d) = read {
                    builder = builder.read_timeout(d);
                }
                // the SDK follows no redirect; a signed request must not be replayed elsewhere
                builder
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| e.to_string())
            });
        Self { client }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match &self.client {
            Ok(client) => client.clone(),
            Err(e) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::other(
                    e.clone().into(),
                    None,
                )))
            }
        };
        let request = match to_reqwest(request) {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e))),
        };
        HttpConnectorFuture::new(async move {
            let response = client.execute(request).await.map_err(classify)?;
            let response: http::Response<reqwest::Body> = response.into();
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

fn to_reqwest(request: HttpRequest) -> Result<reqwest::Request, BoxError> {
    let (parts, body) = request.try_into_http1x()?.into_parts();
    // in-memory bodies (every DynamoDB call, the audit objects) are sent as they are;
    // anything else streams
    let body = match body.bytes() {
        Some(bytes) => reqwest::Body::from(bytes::Bytes::copy_from_slice(bytes)),
        None => reqwest::Body::wrap(body),
    };
    Ok(reqwest::Request::try_from(http::Request::from_parts(
        parts, body,
    ))?)
}

/// The SDK's own client's classification, in reqwest's terms.
fn classify(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_builder() {
        ConnectorError::user(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        // refused, reset, closed or cut short: transient, like hyper's I/O errors
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}
