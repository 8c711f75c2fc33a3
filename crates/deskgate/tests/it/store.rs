//! The store story: one sequence of operations, run against SQLite always and PostgreSQL when a
//! test database is configured, so both backends are held to the same behaviour.

use deskgate::accounts::{
    AccountContext, AccountStatus, AuthType, IntegratedAccount, StoredAccount,
};
use deskgate::audit::{Outcome, ToolCallQuery, ToolCallRecord};
use deskgate::mcp_servers::{McpServer, McpServerConfig};
use deskgate::store::{ApiToken, CredentialsUpdate, Store};
use deskgate::timestamp::Timestamp;
use deskgate::tokens::TokenHash;

use crate::support::{Backend, fresh_database};

#[tokio::test]
async fn store_story_on_sqlite() {
    story(Backend::Sqlite).await;
}

#[tokio::test]
async fn store_story_on_postgres() {
    story(Backend::Postgres).await;
}

fn account(id: &str, now: Timestamp) -> StoredAccount {
    StoredAccount {
        account: IntegratedAccount {
            id: id.to_owned(),
            integration: "gorgias".into(),
            name: format!("account {id}"),
            status: AccountStatus::Active,
            auth_type: AuthType::ApiKey,
            context: AccountContext {
                subdomain: "acme".into(),
                email: Some("a@acme.example".into()),
                api_base_url: None,
                scope: None,
            },
            credentials_version: 0,
            access_token_expires_at: None,
            created_at: now,
            updated_at: now,
        },
        sealed_credentials: vec![1, 2, 3],
    }
}

fn server(id: &str, account: &str, expires_at: Option<Timestamp>, now: Timestamp) -> McpServer {
    McpServer {
        id: id.to_owned(),
        integrated_account_id: account.to_owned(),
        name: format!("server {id}"),
        config: McpServerConfig {
            methods: Some(vec!["read".into()]),
            ..Default::default()
        },
        require_api_token_auth: false,
        expires_at,
        created_at: now,
        updated_at: now,
    }
}

fn call(id: &str, server: &str, account: &str, outcome: Outcome) -> ToolCallRecord {
    ToolCallRecord {
        id: id.to_owned(),
        mcp_server_id: server.to_owned(),
        integrated_account_id: account.to_owned(),
        at: Timestamp::now(),
        tool: "list_all_gorgias_tickets".into(),
        client_name: Some("test".into()),
        client_version: Some("1".into()),
        upstream_method: Some("GET".into()),
        upstream_path: Some("/api/tickets".into()),
        upstream_status: Some(200),
        duration_ms: 3,
        outcome,
        error: None,
    }
}

async fn story(backend: Backend) {
    let Some(url) = fresh_database(backend).await else {
        return;
    };
    let store = Store::connect(&url).await.expect("connect and migrate");
    // Migrating twice is harmless (a restart).
    let store_again = Store::connect(&url).await.expect("second connect");
    store_again.ping().await.unwrap();
    let now = Timestamp::now();

    // API tokens: stored by hash, found by hash, revoked by id.
    let token = ApiToken {
        id: "t1".into(),
        name: "ci".into(),
        created_at: now,
    };
    let hash = TokenHash::of("dga_secret");
    store.insert_api_token(&token, &hash).await.unwrap();
    assert!(
        !store.ensure_api_token(&token, &hash).await.unwrap(),
        "ensure inserted a duplicate"
    );
    assert_eq!(
        store.find_api_token(&hash).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(
        store.find_api_token(&TokenHash::of("other")).await.unwrap(),
        None
    );
    assert_eq!(store.list_api_tokens().await.unwrap().len(), 1);
    assert!(store.delete_api_token("t1").await.unwrap());
    assert!(!store.delete_api_token("t1").await.unwrap());
    assert_eq!(store.find_api_token(&hash).await.unwrap(), None);

    // Accounts: insert, read, page, rename, status, credential compare-and-swap.
    for id in ["a1", "a2", "a3"] {
        store.insert_account(&account(id, now)).await.unwrap();
    }
    let page = store.list_accounts(None, 2).await.unwrap();
    assert_eq!(
        page.iter()
            .map(|a| a.account.id.as_str())
            .collect::<Vec<_>>(),
        ["a3", "a2"]
    );
    let rest = store.list_accounts(Some("a2"), 2).await.unwrap();
    assert_eq!(
        rest.iter()
            .map(|a| a.account.id.as_str())
            .collect::<Vec<_>>(),
        ["a1"]
    );
    assert!(store.rename_account("a1", "renamed", now).await.unwrap());
    assert_eq!(
        store.get_account("a1").await.unwrap().unwrap().account.name,
        "renamed"
    );
    assert!(
        store
            .set_account_status("a1", AccountStatus::NeedsReauth, now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_account_status("a1", AccountStatus::NeedsReauth, now)
            .await
            .unwrap()
    );
    let context = account("a1", now).account.context;
    let update = |version| CredentialsUpdate {
        account_id: "a1",
        expected_version: version,
        sealed_credentials: &[9, 9],
        auth_type: AuthType::Oauth2,
        context: &context,
        status: AccountStatus::Active,
        access_token_expires_at: Some(now.plus_secs(3600)),
        now,
    };
    assert!(store.replace_credentials(&update(0)).await.unwrap());
    assert!(
        !store.replace_credentials(&update(0)).await.unwrap(),
        "a stale write won"
    );
    let a1 = store.get_account("a1").await.unwrap().unwrap();
    assert_eq!(a1.account.credentials_version, 1);
    assert_eq!(a1.sealed_credentials, vec![9, 9]);
    assert_eq!(a1.account.status, AccountStatus::Active);
    assert_eq!(a1.account.auth_type, AuthType::Oauth2);

    // MCP servers: by token hash, by account, update, expiry sweep with their records.
    let live = server("s1", "a1", None, now);
    let expiring = server("s2", "a1", Some(now.plus_secs(-5)), now);
    store
        .insert_mcp_server(&live, &TokenHash::of("dgm_1"))
        .await
        .unwrap();
    store
        .insert_mcp_server(&expiring, &TokenHash::of("dgm_2"))
        .await
        .unwrap();
    store
        .insert_mcp_server(&server("s3", "a2", None, now), &TokenHash::of("dgm_3"))
        .await
        .unwrap();
    assert_eq!(
        store
            .find_mcp_server_by_token(&TokenHash::of("dgm_1"))
            .await
            .unwrap(),
        Some(live.clone())
    );
    assert_eq!(store.list_mcp_servers("a1").await.unwrap().len(), 2);
    assert_eq!(
        store.get_mcp_server("a2", "s1").await.unwrap(),
        None,
        "a server was read through another account"
    );
    let mut renamed = live.clone();
    renamed.name = "renamed".into();
    assert!(store.update_mcp_server(&renamed).await.unwrap());
    assert_eq!(
        store
            .get_mcp_server("a1", "s1")
            .await
            .unwrap()
            .unwrap()
            .name,
        "renamed"
    );
    let mut counts = store.mcp_server_counts().await.unwrap();
    counts.sort();
    assert_eq!(counts, vec![("a1".to_owned(), 2), ("a2".to_owned(), 1)]);

    store
        .insert_tool_call(&call("c1", "s1", "a1", Outcome::Ok))
        .await
        .unwrap();
    store
        .insert_tool_call(&call("c2", "s2", "a1", Outcome::Ok))
        .await
        .unwrap();
    store
        .insert_tool_call(&call("c3", "s1", "a1", Outcome::RateLimited))
        .await
        .unwrap();
    let limited = store
        .list_tool_calls(
            "a1",
            &ToolCallQuery {
                outcome: Some(Outcome::RateLimited),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        limited.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["c3"]
    );
    let paged = store
        .list_tool_calls(
            "a1",
            &ToolCallQuery {
                mcp_server_id: Some("s1".into()),
                before_id: Some("c3".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        paged.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["c1"]
    );
    assert_eq!(
        store
            .tool_call_counts_since("a1", now.plus_secs(-60))
            .await
            .unwrap()
            .len(),
        2
    );

    assert_eq!(
        store
            .delete_expired_mcp_servers(Timestamp::now())
            .await
            .unwrap(),
        vec!["s2".to_owned()]
    );
    assert_eq!(store.get_mcp_server("a1", "s2").await.unwrap(), None);
    let records = store
        .list_tool_calls(
            "a1",
            &ToolCallQuery {
                mcp_server_id: Some("s2".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(records.is_empty(), "the expired server's records survived");
    // A record for a server that is gone is not written (the server was deleted mid-call).
    store
        .insert_tool_call(&call("c4", "s2", "a1", Outcome::Ok))
        .await
        .unwrap();

    // Deleting an account deletes its servers and their records.
    assert!(store.delete_account("a1").await.unwrap());
    assert_eq!(
        store
            .find_mcp_server_by_token(&TokenHash::of("dgm_1"))
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .list_tool_calls(
                "a1",
                &ToolCallQuery {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.get_account("a2").await.unwrap().is_some());
}
