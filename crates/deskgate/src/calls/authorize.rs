//! The authorize stage: may this server run this tool, with these arguments? The server's
//! filter applies on every call, not only in listings: a tool it filters out is as unknown as
//! one that does not exist. Then its policy (`crate::policy`): a denied tool, or arguments
//! its rules refuse, end the call with the rule named; an allowed call gets its pinned values
//! and capped limit before anything is planned.

use integration_spec::Tool;
use serde_json::{Map, Value};

use super::result::UnknownTool;
use crate::integration::AccountCatalog;
use crate::policy::Decision;
use crate::tenants::Tenant;

/// The tool, if this server's filters offer it.
pub(super) fn tool<'c>(
    tenant: &Tenant,
    catalog: &'c AccountCatalog,
    name: &str,
) -> Result<&'c Tool, UnknownTool> {
    catalog
        .catalog
        .tool(name)
        .filter(|t| tenant.filter.tools.matches(t))
        .ok_or_else(|| UnknownTool(name.to_owned()))
}

/// What the server's policy says about this call (pinned values and limits filled in).
pub(super) fn policy(tenant: &Tenant, tool: &Tool, arguments: &mut Map<String, Value>) -> Decision {
    tenant.filter.policy.check(tool, arguments)
}
