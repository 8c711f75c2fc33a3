//! The authorize stage: may this server run this tool? The server's filter applies on every
//! call, not only in listings; a tool it filters out is as unknown as one that does not exist.

use integration_spec::Tool;

use super::result::UnknownTool;
use crate::integration::AccountCatalog;
use crate::tenants::Tenant;

/// The tool, if this server offers it.
pub(super) fn tool<'c>(
    tenant: &Tenant,
    catalog: &'c AccountCatalog,
    name: &str,
) -> Result<&'c Tool, UnknownTool> {
    catalog
        .catalog
        .tool(name)
        .filter(|t| tenant.filter.matches(t))
        .ok_or_else(|| UnknownTool(name.to_owned()))
}
