//! The send stage: one planned request to Gorgias with the account's credentials. No retries
//! of any kind; the one exception is an OAuth token that died early (the first request never
//! reached the account's data).

use integration_spec::PlannedRequest;

use crate::accounts::{AccountStatus, AuthType};
use crate::app::App;
use crate::tenants::Tenant;
use crate::upstream::{self, Target, UpstreamError};

/// What went wrong on the way to or from the upstream, before mapping to a result.
#[derive(Debug, thiserror::Error)]
pub enum CallFailure {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("the account must be reconnected: {0}")]
    NeedsReauth(String),
    #[error("internal error")]
    Internal(String),
}

/// The upstream request a plan describes.
pub(super) fn request(planned: PlannedRequest) -> upstream::Request {
    upstream::Request {
        method: upstream::method(&planned.method),
        path: planned.path,
        query: planned.query,
        body: planned.body,
        encoding: planned.body_encoding,
    }
}

impl App {
    /// Sends one request with the account's credentials.
    #[tracing::instrument(target = "deskgate_trace", name = "upstream.send", skip_all,
        fields(http.request.method = %request.method, upstream.status = tracing::field::Empty))]
    pub(super) async fn send_as_account(
        &self,
        tenant: &Tenant,
        request: &upstream::Request,
    ) -> Result<upstream::Response, CallFailure> {
        if tenant.account.status == AccountStatus::NeedsReauth {
            return Err(CallFailure::NeedsReauth(
                "its authorization was revoked or expired for good".into(),
            ));
        }
        let authorization = self
            .authorization(&tenant.account, &tenant.sealed_credentials)
            .await?;
        let base_url = self.integration.base_url(&tenant.account.context);
        let target = Target {
            base_url: &base_url,
            authorization: &authorization,
        };
        let response = self.upstream.send(&target, request).await?;
        tracing::Span::current().record("upstream.status", response.status.as_u16());
        if response.status == http::StatusCode::UNAUTHORIZED
            && tenant.account.auth_type == AuthType::Oauth2
        {
            // The access token died early (revoked, or the clock disagrees): refresh once and
            // send once more. This is the only second request deskgate ever makes for a call,
            // and only because the first one never reached the account.
            let fresh = self
                .refresh_oauth(&tenant.account.id, tenant.account.credentials_version)
                .await?;
            let authorization = self
                .authorization(&fresh.account, &fresh.sealed_credentials)
                .await?;
            let target = Target {
                base_url: &base_url,
                authorization: &authorization,
            };
            return Ok(self.upstream.send(&target, request).await?);
        }
        Ok(response)
    }
}
