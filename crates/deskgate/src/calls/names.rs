//! The names stage: a team, user or tag given by name becomes what Gorgias takes (an id, or the
//! name exactly as the account spells it), against the account's directories. Only the
//! directories the arguments actually name are listed, and they are cached like custom fields.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use integration_spec::{ArgumentError, Directory, Tool};
use serde_json::{Map, Value};

use crate::app::App;
use crate::tenants::Tenant;

/// A directory listed longer ago than this is listed again before a name is called unknown:
/// a team or tag made a moment ago must not be refused for a cache's sake.
const RECHECK_AFTER: Duration = Duration::from_secs(5);

impl App {
    #[tracing::instrument(target = "deskgate_trace", name = "names", skip_all)]
    pub(super) async fn resolve_names(
        &self,
        tenant: &Tenant,
        tool: &Tool,
        arguments: &mut Map<String, Value>,
    ) -> Result<(), ArgumentError> {
        let needed = tool.named_directories(arguments);
        let first = self.directories(tenant, &needed, None).await;
        let mut attempt = arguments.clone();
        let outcome = tool.resolve_names(&mut attempt, &|d| first.get(d).map(|a| &**a));
        let outcome = match outcome {
            Err(_) if !needed.is_empty() => {
                let again = self.directories(tenant, &needed, Some(RECHECK_AFTER)).await;
                attempt = arguments.clone();
                tool.resolve_names(&mut attempt, &|d| again.get(d).map(|a| &**a))
            }
            other => other,
        };
        outcome.map(|()| *arguments = attempt)
    }

    async fn directories(
        &self,
        tenant: &Tenant,
        names: &[String],
        max_age: Option<Duration>,
    ) -> HashMap<String, Arc<Directory>> {
        let mut out = HashMap::new();
        for name in names {
            if let Some(d) = self
                .account_directory(&tenant.account, &tenant.sealed_credentials, name, max_age)
                .await
            {
                out.insert(name.clone(), d);
            }
        }
        out
    }
}
