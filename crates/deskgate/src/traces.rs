//! Optional trace export (`--otlp-endpoint`, `DESKGATE_OTLP_ENDPOINT`): each tool call's spans
//! (the call, then its pipeline stages) sent with OTLP over HTTP (protobuf) to a collector.
//!
//! The spans are ordinary `tracing` spans with the target [`TARGET`]. Only the OpenTelemetry
//! layer listens to that target (the log layer never prints them), and only when an endpoint is
//! set, so without one a span costs a disabled callsite check. Their attributes are bounded:
//! ids, a tool name only once the catalog knows it, methods, statuses and outcomes; never a
//! token, an argument or any other free text.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The `tracing` target of every exported span.
pub const TARGET: &str = "deskgate_trace";

/// The running exporter; [`Traces::shutdown`] sends what is still batched.
pub struct Traces(SdkTracerProvider);

impl Traces {
    /// Starts the exporter for `endpoint` (a collector's OTLP/HTTP base, `/v1/traces` added
    /// unless the URL already ends with it).
    pub fn start(endpoint: &str) -> anyhow::Result<Self> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .build()?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name("deskgate").build())
            .build();
        Ok(Traces(provider))
    }

    pub fn tracer(&self) -> opentelemetry_sdk::trace::Tracer {
        self.0.tracer("deskgate")
    }

    pub fn shutdown(self) {
        if let Err(e) = self.0.shutdown() {
            tracing::warn!(error = %e, "the last spans could not be exported");
        }
    }
}

/// The collector's traces URL: the OTLP/HTTP convention is `<base>/v1/traces`.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/otlp/"),
            "http://c:4318/otlp/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }
}
