//! The OAuth grant store on both backends (issue 19): an authorization code and a refresh token
//! are each used once even when several replicas race for them, a replay is told apart from an
//! unknown secret, revoking a grant takes its tokens, and the sweep removes what expired.

use deskgate::accounts::{
    AccountContext, AccountStatus, AuthType, IntegratedAccount, StoredAccount,
};
use deskgate::mcp_servers::{AuthMode, McpServer, McpServerConfig};
use deskgate::store::Store;
use deskgate::store::oauth_grants::{NewGrant, NewToken, OAuthClient, Taken, TokenUse};
use deskgate::timestamp::Timestamp;
use deskgate::tokens::TokenHash;

use crate::support::{Backend, fresh_database};

#[tokio::test]
async fn oauth_grants_on_sqlite() {
    story(Backend::Sqlite).await;
}

#[tokio::test]
async fn oauth_grants_on_postgres() {
    story(Backend::Postgres).await;
}

async fn setup(store: &Store, now: Timestamp) {
    store
        .insert_account(&StoredAccount {
            account: IntegratedAccount {
                id: "a1".into(),
                integration: "gorgias".into(),
                name: "acme".into(),
                status: AccountStatus::Active,
                auth_type: AuthType::ApiKey,
                context: AccountContext {
                    subdomain: "acme".into(),
                    email: None,
                    api_base_url: None,
                    scope: None,
                },
                credentials_version: 0,
                access_token_expires_at: None,
                rate_limit_reserve: None,
                created_at: now,
                updated_at: now,
            },
            sealed_credentials: vec![1],
        })
        .await
        .unwrap();
    let server = McpServer {
        id: "0192f0c4-7d1e-7c3a-9b7e-1d2c3b4a5f60".into(),
        integrated_account_id: "a1".into(),
        name: "oauth".into(),
        config: McpServerConfig::default(),
        require_api_token_auth: false,
        auth: AuthMode::Oauth,
        expires_at: None,
        created_at: now,
        updated_at: now,
    };
    store
        .insert_mcp_server(&server, &TokenHash::of("never shown"))
        .await
        .unwrap();
    let found = store.find_mcp_server(&server.id).await.unwrap().unwrap();
    assert_eq!(found.auth, AuthMode::Oauth, "the auth mode round-trips");
    store
        .insert_oauth_client(&OAuthClient {
            id: "dgcl_1".into(),
            name: "Claude".into(),
            redirect_uris: vec!["https://claude.ai/api/mcp/auth_callback".into()],
            created_at: now,
        })
        .await
        .unwrap();
}

const SERVER: &str = "0192f0c4-7d1e-7c3a-9b7e-1d2c3b4a5f60";

async fn grant(store: &Store, id: &str, code: &str, code_expires_at: Timestamp, now: Timestamp) {
    store
        .insert_oauth_grant(&NewGrant {
            id,
            mcp_server_id: SERVER,
            client_id: "dgcl_1",
            approved_by: "token-1",
            approved_by_person: None,
            scope: "mcp",
            redirect_uri: "https://claude.ai/api/mcp/auth_callback",
            code_hash: &TokenHash::of(code).0,
            code_challenge: "challenge",
            code_expires_at,
            now,
        })
        .await
        .unwrap();
}

async fn story(backend: Backend) {
    let Some(url) = fresh_database(backend).await else {
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    let now = Timestamp::now();
    setup(&store, now).await;

    // A code raced by eight replicas: exactly one wins, the others see a replay.
    grant(&store, "g1", "dgc_code1", now.plus_secs(120), now).await;
    let hash = TokenHash::of("dgc_code1").0;
    let races: Vec<Taken> = futures::future::join_all((0..8).map(|_| {
        let store = store.clone();
        let hash = hash.clone();
        async move {
            store
                .take_oauth_code(&hash, Timestamp::now())
                .await
                .unwrap()
        }
    }))
    .await;
    let won: Vec<_> = races
        .iter()
        .filter_map(|t| match t {
            Taken::Won(g) => Some(g),
            _ => None,
        })
        .collect();
    assert_eq!(won.len(), 1, "{races:?}");
    assert_eq!(won[0].client_name, "Claude");
    assert_eq!(won[0].mcp_server_id, SERVER);
    assert!(
        races
            .iter()
            .filter(|t| !matches!(t, Taken::Won(_)))
            .all(|t| *t == Taken::Replayed("g1".into()))
    );
    assert_eq!(
        store
            .take_oauth_code(&TokenHash::of("dgc_unknown").0, now)
            .await
            .unwrap(),
        Taken::Missing
    );

    // An expired code is missing, not won.
    grant(&store, "g2", "dgc_code2", now.plus_secs(-1), now).await;
    assert_eq!(
        store
            .take_oauth_code(&TokenHash::of("dgc_code2").0, now)
            .await
            .unwrap(),
        Taken::Missing
    );

    // Tokens under g1: the access token opens the server; the refresh token is used once.
    let access = TokenHash::of("dgo_a1").0;
    let refresh = TokenHash::of("dgr_r1").0;
    store
        .insert_oauth_tokens(
            "g1",
            &[
                NewToken {
                    hash: &access,
                    kind: TokenUse::Access,
                    expires_at: now.plus_secs(3600),
                },
                NewToken {
                    hash: &refresh,
                    kind: TokenUse::Refresh,
                    expires_at: now.plus_secs(86400),
                },
            ],
            now,
        )
        .await
        .unwrap();
    let opened = store
        .find_oauth_access(&access, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (opened.grant_id.as_str(), opened.mcp_server_id.as_str()),
        ("g1", SERVER)
    );
    assert!(
        store
            .find_oauth_access(&refresh, now)
            .await
            .unwrap()
            .is_none(),
        "a refresh token is not an access token"
    );
    assert!(
        store
            .find_oauth_access(&access, now.plus_secs(3601))
            .await
            .unwrap()
            .is_none(),
        "an expired access token opens nothing"
    );
    let races: Vec<Taken> = futures::future::join_all((0..8).map(|_| {
        let store = store.clone();
        let refresh = refresh.clone();
        async move {
            store
                .take_oauth_refresh(&refresh, Timestamp::now())
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(
        races.iter().filter(|t| matches!(t, Taken::Won(_))).count(),
        1,
        "{races:?}"
    );
    assert_eq!(
        store.take_oauth_refresh(&refresh, now).await.unwrap(),
        Taken::Replayed("g1".into())
    );
    assert_eq!(
        store.list_oauth_grants(SERVER).await.unwrap().len(),
        1,
        "only exchanged grants are listed"
    );

    // Revoking the grant takes its tokens at once.
    assert!(store.delete_oauth_grant("g1").await.unwrap());
    assert!(
        store
            .find_oauth_access(&access, now)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.take_oauth_refresh(&refresh, now).await.unwrap(),
        Taken::Missing
    );

    // The sweep: the never-exchanged, expired g2 goes; so does a grant whose tokens expired.
    grant(&store, "g3", "dgc_code3", now.plus_secs(120), now).await;
    store
        .take_oauth_code(&TokenHash::of("dgc_code3").0, now)
        .await
        .unwrap();
    store
        .insert_oauth_tokens(
            "g3",
            &[NewToken {
                hash: &TokenHash::of("dgo_old").0,
                kind: TokenUse::Access,
                expires_at: now.plus_secs(-5),
            }],
            now,
        )
        .await
        .unwrap();
    assert_eq!(store.sweep_oauth_grants(now).await.unwrap(), 2);
    assert!(store.get_oauth_grant("g2").await.unwrap().is_none());
    assert!(store.get_oauth_grant("g3").await.unwrap().is_none());

    // Deleting the server takes its grants.
    grant(&store, "g4", "dgc_code4", now.plus_secs(120), now).await;
    assert!(store.delete_mcp_server("a1", SERVER).await.unwrap());
    assert!(store.get_oauth_grant("g4").await.unwrap().is_none());

    // Clients: a metadata document's client is inserted, then refreshed in place; a client that
    // never exchanged a code and holds no grant is swept once old enough, a used one never.
    let document = |name: &str| OAuthClient {
        id: "https://app.example/client.json".into(),
        name: name.into(),
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        created_at: now.plus_secs(-3 * 86_400),
    };
    store
        .upsert_oauth_client(&document("Old name"))
        .await
        .unwrap();
    store
        .upsert_oauth_client(&document("New name"))
        .await
        .unwrap();
    let found = store
        .get_oauth_client("https://app.example/client.json")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.name, "New name");
    for (id, created) in [
        ("dgcl_unused", now.plus_secs(-3 * 86_400)),
        ("dgcl_used", now.plus_secs(-3 * 86_400)),
        ("dgcl_new", now),
    ] {
        store
            .insert_oauth_client(&OAuthClient {
                id: id.into(),
                name: id.into(),
                redirect_uris: vec!["http://127.0.0.1/cb".into()],
                created_at: created,
            })
            .await
            .unwrap();
    }
    store
        .mark_oauth_client_used("dgcl_used", now)
        .await
        .unwrap();
    let swept = store
        .sweep_unused_oauth_clients(now.plus_secs(-86_400))
        .await
        .unwrap();
    // dgcl_unused and the unused document client; dgcl_1 (grants gone with the server) is
    // from `now`, like dgcl_new.
    assert_eq!(swept, 2);
    for (id, kept) in [
        ("dgcl_unused", false),
        ("https://app.example/client.json", false),
        ("dgcl_used", true),
        ("dgcl_new", true),
        ("dgcl_1", true),
    ] {
        assert_eq!(
            store.get_oauth_client(id).await.unwrap().is_some(),
            kept,
            "{id}"
        );
    }
}
