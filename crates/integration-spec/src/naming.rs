//! Tool names, derived from the integration, the resource and the method.
//!
//! | method   | tool name                                              |
//! |----------|--------------------------------------------------------|
//! | `list`   | `list_all_<integration>_<plural>`                      |
//! | `get`    | `get_single_<integration>_<resource>_by_id`            |
//! | `create` | `create_a_<integration>_<resource>`                    |
//! | `update` | `update_a_<integration>_<resource>_by_id`              |
//! | `delete` | `delete_a_<integration>_<resource>_by_id`              |
//! | other    | `<method>_<integration>_<plural>` (or `<resource>` when the method says `noun: singular`) |
//!
//! `_by_id` is left off when the path has no parameter (a singleton such as the account).
//! Names are at most 45 characters of `[a-z0-9_]`: some MCP clients refuse anything else, and
//! clients prefix them with the server name within 60 to 64 characters.

use serde::Serialize;

/// The kind of a method; everything that is not one of the five standard ones is `Custom`, and
/// a task-shaped tool (a composition of API tools) is a `Task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    List,
    Get,
    Create,
    Update,
    Delete,
    Custom,
    Task,
}

impl MethodKind {
    pub fn of(method: &str) -> MethodKind {
        match method {
            "list" => MethodKind::List,
            "get" => MethodKind::Get,
            "create" => MethodKind::Create,
            "update" => MethodKind::Update,
            "delete" => MethodKind::Delete,
            _ => MethodKind::Custom,
        }
    }
}

/// Clients prefix tool names and cut or drop long ones: Claude Code writes
/// `mcp__<server>__<tool>` within 64 characters, Cursor keeps server + tool within 60. 45 leaves
/// room for a short server name such as `gorgias` in both.
pub const MAX_TOOL_NAME: usize = 45;

/// What a tool name is made of.
pub(crate) struct NameParts<'a> {
    pub integration: &'a str,
    pub method: &'a str,
    pub resource: &'a str,
    pub plural: &'a str,
    /// Custom methods: use the plural (the default) or the singular.
    pub plural_noun: bool,
    /// Whether the path addresses one record by a parameter.
    pub by_id: bool,
}

pub(crate) fn tool_name(p: &NameParts<'_>) -> String {
    let by_id = if p.by_id { "_by_id" } else { "" };
    let NameParts {
        integration: i,
        resource: r,
        ..
    } = p;
    match MethodKind::of(p.method) {
        MethodKind::List => format!("list_all_{i}_{}", p.plural),
        MethodKind::Get => format!("get_single_{i}_{r}{by_id}"),
        MethodKind::Create => format!("create_a_{i}_{r}"),
        MethodKind::Update => format!("update_a_{i}_{r}{by_id}"),
        MethodKind::Delete => format!("delete_a_{i}_{r}{by_id}"),
        // `of` never says Task: tasks name themselves.
        MethodKind::Custom | MethodKind::Task => {
            let noun = if p.plural_noun { p.plural } else { r };
            format!("{}_{i}_{noun}", p.method)
        }
    }
}

/// Why a name (of a tool, integration, resource or method) is not acceptable, if it is not.
pub(crate) fn check_identifier(what: &str, name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if name.len() > max {
        return Err(format!(
            "{what} `{name}` is {} characters long; at most {max} are allowed",
            name.len()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "{what} `{name}` must start with a lowercase letter"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "{what} `{name}` may only use a-z, 0-9 and `_`, not {bad:?}"
        ));
    }
    Ok(())
}

/// Argument (property) names: what the strictest client accepts (`^[a-zA-Z0-9_.-]{1,64}$`).
pub(crate) fn check_property_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!(
            "argument name `{name}` must be 1 to 64 characters long"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "argument name `{name}` may only use letters, digits, `_`, `.` and `-`, not {bad:?}"
        ));
    }
    Ok(())
}

/// A human title: "List tickets", "Get a ticket", "Update an account setting".
pub(crate) fn default_title(method: &str, resource: &str, plural: &str) -> Option<String> {
    let words = |s: &str| s.replace('_', " ");
    let article = |s: &str| {
        if s.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        }
    };
    let one = format!("{} {}", article(resource), words(resource));
    Some(match MethodKind::of(method) {
        MethodKind::List => format!("List {}", words(plural)),
        MethodKind::Get => format!("Get {one}"),
        MethodKind::Create => format!("Create {one}"),
        MethodKind::Update => format!("Update {one}"),
        MethodKind::Delete => format!("Delete {one}"),
        MethodKind::Custom | MethodKind::Task => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(method: &str, resource: &str, plural: &str, plural_noun: bool, by_id: bool) -> String {
        tool_name(&NameParts {
            integration: "gorgias",
            method,
            resource,
            plural,
            plural_noun,
            by_id,
        })
    }

    #[test]
    fn standard_methods_follow_the_fixed_patterns() {
        assert_eq!(
            name("list", "ticket", "tickets", true, false),
            "list_all_gorgias_tickets"
        );
        assert_eq!(
            name("get", "ticket", "tickets", true, true),
            "get_single_gorgias_ticket_by_id"
        );
        assert_eq!(
            name("create", "message", "messages", true, true),
            "create_a_gorgias_message"
        );
        assert_eq!(
            name("update", "ticket", "tickets", true, true),
            "update_a_gorgias_ticket_by_id"
        );
        assert_eq!(
            name("delete", "ticket", "tickets", true, true),
            "delete_a_gorgias_ticket_by_id"
        );
        assert_eq!(
            name("get", "customer", "customers", true, true),
            "get_single_gorgias_customer_by_id"
        );
        assert_eq!(
            name("create", "macro", "macros", true, false),
            "create_a_gorgias_macro"
        );
    }

    #[test]
    fn singletons_drop_by_id() {
        assert_eq!(
            name("get", "account", "accounts", true, false),
            "get_single_gorgias_account"
        );
    }

    #[test]
    fn custom_methods_use_the_chosen_noun() {
        assert_eq!(
            name("merge", "customer", "customers", true, false),
            "merge_gorgias_customers"
        );
        assert_eq!(
            name("download", "file", "files", false, true),
            "download_gorgias_file"
        );
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(check_identifier("tool name", "list_all_gorgias_tickets", 64).is_ok());
        assert!(
            check_identifier("tool name", &"a".repeat(65), 64)
                .unwrap_err()
                .contains("65")
        );
        assert!(check_identifier("tool name", "List", 64).is_err());
        assert!(
            check_identifier("tool name", "a-b", 64)
                .unwrap_err()
                .contains("'-'")
        );
        assert!(check_property_name("tags[]").is_err());
        assert!(check_property_name("ticket_id").is_ok());
    }

    #[test]
    fn titles_use_articles() {
        assert_eq!(
            default_title("get", "account_setting", "account_settings").unwrap(),
            "Get an account setting"
        );
        assert_eq!(
            default_title("list", "ticket", "tickets").unwrap(),
            "List tickets"
        );
        assert_eq!(default_title("merge", "ticket", "tickets"), None);
    }
}
