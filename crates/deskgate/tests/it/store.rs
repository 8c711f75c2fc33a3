//! The store story: one sequence of operations, run against SQLite always and PostgreSQL when a
//! test database is configured, so both backends are held to the same behaviour.

use deskgate::accounts::{
    AccountContext, AccountStatus, AuthType, IntegratedAccount, StoredAccount,
};
use deskgate::audit::{Outcome, ToolCallQuery, ToolCallRecord};
use deskgate::mcp_servers::{McpServer, McpServerConfig};
use deskgate::store::{ApiToken, Change, CredentialsUpdate, Job, Notice, Store};
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
            rate_limit_reserve: None,
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
        auth: Default::default(),
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
        policy_decision: Some(deskgate::policy::PolicyOutcome::Allowed),
        policy_rule: Some("policies[0] (allow list_all_gorgias_tickets)".into()),
        person_id: None,
        person_email: None,
        oauth_client_id: None,
        ratelimit_limit: Some(40),
        ratelimit_remaining: Some(39),
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
        scope: deskgate::tokens::TokenScope::Mcp,
        mcp_server_ids: Some(vec!["s1".into()]),
        integrated_account_ids: None,
        bootstrap: false,
        created_at: now,
    };
    let hash = TokenHash::of("dga_secret");
    store.insert_api_token(&token, &hash).await.unwrap();
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

    // One record alone, then two in one transaction (the audit writer's group commit).
    store
        .insert_tool_calls(&[call("c1", "s1", "a1", Outcome::Ok)])
        .await
        .unwrap();
    store
        .insert_tool_calls(&[
            call("c2", "s2", "a1", Outcome::Ok),
            call("c3", "s1", "a1", Outcome::RateLimited),
        ])
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
    // The policy's decision round-trips.
    assert_eq!(
        limited[0].policy_decision,
        Some(deskgate::policy::PolicyOutcome::Allowed)
    );
    assert_eq!(
        limited[0].policy_rule.as_deref(),
        Some("policies[0] (allow list_all_gorgias_tickets)")
    );
    // So does the helpdesk's bucket its answer reported (the console's headroom chart).
    assert_eq!(
        (limited[0].ratelimit_limit, limited[0].ratelimit_remaining),
        (Some(40), Some(39))
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
    // The log outlives its server (issue 16): expiry removes the server and its token, not
    // the history.
    let kept = records.len();
    assert!(kept > 0, "the expired server's records are gone");
    // A record for a server that is gone (deleted mid-call) is written all the same.
    store
        .insert_tool_calls(&[call("c4", "s2", "a1", Outcome::Ok)])
        .await
        .unwrap();
    // A write's intent is completed in place: the same id, its outcome now known.
    store
        .insert_tool_calls(&[call("c5", "s2", "a1", Outcome::Pending)])
        .await
        .unwrap();
    store
        .insert_tool_calls(&[call("c5", "s2", "a1", Outcome::UpstreamClientError)])
        .await
        .unwrap();

    // Deleting an account deletes its servers, not their records.
    assert!(store.delete_account("a1").await.unwrap());
    assert_eq!(
        store
            .find_mcp_server_by_token(&TokenHash::of("dgm_1"))
            .await
            .unwrap(),
        None
    );
    let left = store
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
    assert_eq!(left.len(), kept + 2, "{left:?}");
    let c5: Vec<_> = left.iter().filter(|r| r.id == "c5").collect();
    assert_eq!(c5.len(), 1);
    assert_eq!(c5[0].outcome, Outcome::UpstreamClientError);

    // Budget windows count across calls (and replicas: the count is this row).
    assert_eq!(
        store
            .spend_budget("s2", "writes_per_day", 86_400)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .spend_budget("s2", "writes_per_day", 86_400)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .spend_budget("s2", "writes_per_day", 172_800)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .spend_budget("s2", "calls_per_minute", 86_400)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.delete_budget_windows_before(100_000).await.unwrap(),
        2
    );
    assert_eq!(
        store
            .spend_budget("s2", "writes_per_day", 86_400)
            .await
            .unwrap(),
        1
    );

    // Retention: records older than the cut are removed, the rest stay.
    assert_eq!(
        store
            .delete_tool_calls_before(Timestamp::now().plus_secs(-3600))
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .delete_tool_calls_before(Timestamp::now().plus_secs(3600))
            .await
            .unwrap()
            >= kept as u64 + 2
    );
    assert!(store.get_account("a2").await.unwrap().is_some());
}

#[tokio::test]
async fn refresh_leases_on_sqlite() {
    refresh_leases(Backend::Sqlite).await;
}

#[tokio::test]
async fn refresh_leases_on_postgres() {
    refresh_leases(Backend::Postgres).await;
}

/// One refresh at a time per account, across processes; a lease is only released by its holder.
async fn refresh_leases(backend: Backend) {
    let Some(url) = fresh_database(backend).await else {
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    let now = Timestamp::now();
    store.insert_account(&account("a1", now)).await.unwrap();
    let mine = now.plus_secs(30);
    assert!(store.acquire_refresh_lease("a1", now, mine).await.unwrap());
    assert!(
        !store
            .acquire_refresh_lease("a1", now, now.plus_secs(30))
            .await
            .unwrap(),
        "a live lease was taken twice"
    );
    // Once it lapses another process takes it over; the first holder's release must not free
    // the new holder's lease.
    let later = now.plus_secs(31);
    let theirs = later.plus_secs(30);
    assert!(
        store
            .acquire_refresh_lease("a1", later, theirs)
            .await
            .unwrap()
    );
    store.release_refresh_lease("a1", mine).await.unwrap();
    assert!(
        !store
            .acquire_refresh_lease("a1", later, later.plus_secs(30))
            .await
            .unwrap(),
        "a stale holder released someone else's lease"
    );
    store.release_refresh_lease("a1", theirs).await.unwrap();
    assert!(
        store
            .acquire_refresh_lease("a1", later, later.plus_secs(30))
            .await
            .unwrap()
    );
}

/// Two stores on one PostgreSQL database: two replicas, as far as the store can tell.
async fn two_replicas() -> Option<(Store, Store)> {
    let url = fresh_database(Backend::Postgres).await?;
    Some((
        Store::connect(&url).await.unwrap(),
        Store::connect(&url).await.unwrap(),
    ))
}

#[tokio::test]
async fn background_jobs_run_once_across_replicas() {
    use std::time::Duration;
    use tokio::sync::oneshot;

    let Some((a, b)) = two_replicas().await else {
        return;
    };
    let hour = Duration::from_secs(3600);

    // While A runs the sweep, B cannot run it, even with no gap required: runs never overlap.
    let (started, a_started) = oneshot::channel::<()>();
    let (finish, a_may_finish) = oneshot::channel::<()>();
    let a_run = a.run_exclusive(Job::Sweep, Duration::ZERO, async move {
        started.send(()).unwrap();
        a_may_finish.await.unwrap();
        "a"
    });
    let b_meanwhile = async {
        a_started.await.unwrap();
        let b = b
            .run_exclusive(Job::Sweep, Duration::ZERO, async { "b" })
            .await
            .unwrap();
        finish.send(()).unwrap();
        b
    };
    let (a_ran, b_ran) = tokio::join!(a_run, b_meanwhile);
    assert_eq!(a_ran.unwrap(), Some("a"));
    assert_eq!(b_ran, None, "the sweep ran on two replicas at once");

    // Once A is done, B may run it, unless the period asks for a longer gap.
    assert_eq!(
        b.run_exclusive(Job::Sweep, hour, async { "b" })
            .await
            .unwrap(),
        None,
        "the sweep ran twice in one period"
    );
    assert_eq!(
        b.run_exclusive(Job::Sweep, Duration::ZERO, async { "b" })
            .await
            .unwrap(),
        Some("b")
    );
    // Jobs are independent of each other.
    assert_eq!(
        a.run_exclusive(Job::OAuthRefresh, hour, async { "a" })
            .await
            .unwrap(),
        Some("a")
    );

    // Two replicas ticking together once a new period began: exactly one runs it. The period
    // is long enough that a busy machine cannot let the second replica's tick fall into the
    // next period (which would rightly run it again).
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let period = Duration::from_secs(2);
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let work = || async {
        runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (x, y) = tokio::join!(
        a.run_exclusive(Job::OAuthRefresh, period, work()),
        b.run_exclusive(Job::OAuthRefresh, period, work()),
    );
    let ran = [x.unwrap(), y.unwrap()].iter().flatten().count();
    assert_eq!(ran, 1, "both replicas ran the same period's work");
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn sse_sessions_are_shared_through_postgres() {
    use std::time::Duration;

    let Some((a, b)) = two_replicas().await else {
        return;
    };
    let (holder, other) = (a.shared().unwrap(), b.shared().unwrap());
    let minute = Duration::from_secs(60);
    holder
        .keep_sse_sessions("r1", &[("s1".into(), "srv1".into())], minute)
        .await
        .unwrap();
    let row = other.sse_session("s1").await.unwrap().unwrap();
    assert_eq!(
        (row.replica_id.as_str(), row.mcp_server_id.as_str()),
        ("r1", "srv1")
    );
    assert_eq!(other.sse_session("nope").await.unwrap(), None);

    // Replies queue in order, however large (a tools/list is far beyond a NOTIFY payload).
    let big = "x".repeat(200_000);
    assert!(
        other
            .enqueue_sse_messages("s1", "r1", &["first".into(), big.clone()])
            .await
            .unwrap()
    );
    assert!(
        other
            .enqueue_sse_messages("s1", "r1", &["third".into()])
            .await
            .unwrap()
    );
    assert_eq!(
        holder.take_sse_messages("s1").await.unwrap(),
        vec!["first".to_owned(), big, "third".to_owned()]
    );
    assert!(holder.take_sse_messages("s1").await.unwrap().is_empty());
    // Nothing is queued for a session nobody holds.
    assert!(
        !other
            .enqueue_sse_messages("nope", "r1", &["x".into()])
            .await
            .unwrap()
    );

    // A session its holder stops renewing lapses: it is unknown at once and swept later.
    holder
        .keep_sse_sessions("r1", &[("s2".into(), "srv1".into())], Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(other.sse_session("s2").await.unwrap(), None);
    assert_eq!(other.delete_lapsed_sse_sessions().await.unwrap(), 1);
    assert!(
        other.sse_session("s1").await.unwrap().is_some(),
        "a live session was swept"
    );
    // A holder that was cut off registers its open sessions again when it renews.
    holder
        .keep_sse_sessions("r1", &[("s2".into(), "srv1".into())], minute)
        .await
        .unwrap();
    assert!(other.sse_session("s2").await.unwrap().is_some());

    // A stream that ends takes its queue with it.
    assert!(
        other
            .enqueue_sse_messages("s1", "r1", &["late".into()])
            .await
            .unwrap()
    );
    holder.delete_sse_session("s1").await.unwrap();
    assert_eq!(other.sse_session("s1").await.unwrap(), None);
    assert!(holder.take_sse_messages("s1").await.unwrap().is_empty());
    // A replica shutting down forgets the sessions it holds, and only those.
    holder
        .keep_sse_sessions("r2", &[("s3".into(), "srv1".into())], minute)
        .await
        .unwrap();
    assert_eq!(holder.delete_sse_sessions_of("r1").await.unwrap(), 1);
    assert!(other.sse_session("s3").await.unwrap().is_some());
}

#[tokio::test]
async fn changes_are_announced_to_every_replica() {
    use std::time::Duration;

    let Some((listening, writing)) = two_replicas().await else {
        return;
    };
    let mut notices = listening.notices("r1").await.unwrap().unwrap();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), notices.next())
            .await
            .expect("a notice within 10 s")
            .unwrap()
    };
    let now = Timestamp::now();
    writing.insert_account(&account("a1", now)).await.unwrap();
    writing
        .insert_mcp_server(&server("s1", "a1", None, now), &TokenHash::of("dgm_1"))
        .await
        .unwrap();
    // Nothing is announced for a new server (no one can have cached it) nor for a sweep that
    // deletes nothing; the rename below is the first notice.
    assert!(
        writing
            .delete_expired_mcp_servers(Timestamp::now())
            .await
            .unwrap()
            .is_empty()
    );

    // Taking the refresh lease is nobody's business; renaming is. Notices come in commit
    // order, so the rename being next shows the lease was not announced.
    assert!(
        writing
            .acquire_refresh_lease("a1", now, now.plus_secs(30))
            .await
            .unwrap()
    );
    writing.rename_account("a1", "renamed", now).await.unwrap();
    assert_eq!(next().await, Notice::Changed(Change::Account("a1".into())));
    let current = writing.get_account("a1").await.unwrap().unwrap();
    assert!(
        writing
            .replace_credentials(&CredentialsUpdate {
                account_id: "a1",
                expected_version: current.account.credentials_version,
                sealed_credentials: &[9, 9],
                auth_type: AuthType::ApiKey,
                context: &current.account.context,
                status: AccountStatus::Active,
                access_token_expires_at: None,
                now,
            })
            .await
            .unwrap()
    );
    assert_eq!(next().await, Notice::Changed(Change::Account("a1".into())));

    // Messages for SSE sessions reach only the replica holding them.
    let shared = writing.shared().unwrap();
    let minute = Duration::from_secs(60);
    shared
        .keep_sse_sessions("r2", &[("theirs".into(), "s1".into())], minute)
        .await
        .unwrap();
    shared
        .keep_sse_sessions("r1", &[("mine".into(), "s1".into())], minute)
        .await
        .unwrap();
    assert!(
        shared
            .enqueue_sse_messages("theirs", "r2", &["{}".into()])
            .await
            .unwrap()
    );
    assert!(
        shared
            .enqueue_sse_messages("mine", "r1", &["{}".into()])
            .await
            .unwrap()
    );
    assert_eq!(next().await, Notice::SseMessages("mine".into()));

    let mut changed = writing.get_mcp_server("a1", "s1").await.unwrap().unwrap();
    changed.config.methods = Some(vec!["write".into()]);
    assert!(writing.update_mcp_server(&changed).await.unwrap());
    assert_eq!(next().await, Notice::Changed(Change::McpServers));
    assert!(writing.delete_mcp_server("a1", "s1").await.unwrap());
    assert_eq!(next().await, Notice::Changed(Change::McpServers));
    assert!(writing.delete_account("a1").await.unwrap());
    assert_eq!(next().await, Notice::Changed(Change::Account("a1".into())));
}

#[tokio::test]
async fn a_replica_that_loses_its_listening_connection_reconnects_and_says_so() {
    use std::time::Duration;

    let Some((listening, writing)) = two_replicas().await else {
        return;
    };
    let mut notices = listening.notices("r1").await.unwrap().unwrap();
    // Cut the listening connection, as a database restart or a network failure would.
    let cut = sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .execute(writing.shared().unwrap().pool())
    .await
    .unwrap();
    assert_eq!(cut.rows_affected(), 1);
    // What was announced meanwhile is lost, and the replica is told so...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, notices.next()).await {
            Ok(Ok(Notice::Missed)) => break,
            // The cut itself may surface as an error first; asking again reconnects.
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok(Ok(other)) => panic!("unexpected notice {other:?}"),
            Err(_) => panic!("no Missed notice within 10 s"),
        }
    }
    // ...and it hears what is announced after.
    let now = Timestamp::now();
    writing.insert_account(&account("a1", now)).await.unwrap();
    writing.rename_account("a1", "renamed", now).await.unwrap();
    let notice = tokio::time::timeout(Duration::from_secs(10), notices.next())
        .await
        .expect("a notice within 10 s")
        .unwrap();
    assert_eq!(notice, Notice::Changed(Change::Account("a1".into())));
}

/// A fresh, migrated store holding account `a1` and its server `s1` (`None` without PostgreSQL).
async fn store_with_a_server(backend: Backend) -> Option<Store> {
    let url = fresh_database(backend).await?;
    let store = Store::connect(&url).await.expect("connect and migrate");
    let now = Timestamp::now();
    store.insert_account(&account("a1", now)).await.unwrap();
    store
        .insert_mcp_server(&server("s1", "a1", None, now), &TokenHash::of("dgm_1"))
        .await
        .unwrap();
    Some(store)
}

#[tokio::test]
async fn audit_log_commits_every_concurrent_record_on_sqlite() {
    audit_log_under_concurrency(Backend::Sqlite).await;
}

#[tokio::test]
async fn audit_log_commits_every_concurrent_record_on_postgres() {
    audit_log_under_concurrency(Backend::Postgres).await;
}

/// Many calls finishing at once: each `write` returns only once its record is committed, and
/// records queued behind a running commit go in later batches, none lost or doubled. One record
/// names a server that is gone (deleted mid-call): it is dropped without costing the others.
async fn audit_log_under_concurrency(backend: Backend) {
    let Some(store) = store_with_a_server(backend).await else {
        return;
    };
    let log = std::sync::Arc::new(deskgate::audit::AuditLog::new(store.clone()));
    let writes: Vec<_> = (0..200)
        .map(|i| {
            let log = log.clone();
            let server = if i == 7 { "gone" } else { "s1" };
            tokio::spawn(async move {
                log.write(call(&format!("c{i:03}"), server, "a1", Outcome::Ok))
                    .await;
            })
        })
        .collect();
    for write in writes {
        write.await.unwrap();
    }
    let records = store
        .list_tool_calls(
            "a1",
            &ToolCallQuery {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut ids: Vec<_> = records.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    // The record of a call whose server is gone is kept too: the log outlives servers.
    let expected: Vec<_> = (0..200).map(|i| format!("c{i:03}")).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn records_written_behind_land_without_a_flush_on_sqlite() {
    records_written_behind_land_without_a_flush(Backend::Sqlite).await;
}

#[tokio::test]
async fn records_written_behind_land_without_a_flush_on_postgres() {
    records_written_behind_land_without_a_flush(Backend::Postgres).await;
}

/// The write-behind task sleeps through its window rather than waking for every record: a lone
/// record must still be committed when the window ends, and a burst of more than a batch must
/// be committed in full, with nobody calling `flush`.
async fn records_written_behind_land_without_a_flush(backend: Backend) {
    let Some(store) = store_with_a_server(backend).await else {
        return;
    };
    let log = deskgate::audit::AuditLog::new(store.clone());
    let committed = |store: Store| async move {
        store
            .list_tool_calls(
                "a1",
                &ToolCallQuery {
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .len()
    };
    let wait_for = |expected: usize| {
        let store = store.clone();
        async move {
            // Generous against a slow machine; the window itself is 50 ms.
            for _ in 0..200 {
                if committed(store.clone()).await == expected {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!(
                "{} of {expected} records written behind were committed",
                committed(store.clone()).await
            );
        }
    };
    log.write_behind(call("lone", "s1", "a1", Outcome::Ok))
        .await;
    wait_for(1).await;
    // 600 records: more than two batches of 256, queued as fast as they come.
    for i in 0..600 {
        log.write_behind(call(&format!("b{i:03}"), "s1", "a1", Outcome::Ok))
            .await;
    }
    wait_for(601).await;
}

#[tokio::test]
async fn servers_minted_before_admin_tools_keep_them_on_sqlite() {
    servers_minted_before_admin_tools_keep_them(Backend::Sqlite).await;
}

#[tokio::test]
async fn servers_minted_before_admin_tools_keep_them_on_postgres() {
    servers_minted_before_admin_tools_keep_them(Backend::Postgres).await;
}

/// Migration 0170 (issue 14): admin tools became opt-in, so every server stored before it whose
/// filters allowed writes is given `admin_tools: true` and offers what it offered; a read-only
/// server is left as it was. The database is migrated to 0160, rows are written as the old
/// version wrote them, then the store opens it as this version does.
async fn servers_minted_before_admin_tools_keep_them(backend: Backend) {
    use sqlx::migrate::Migrator;
    let Some(url) = fresh_database(backend).await else {
        return;
    };
    let dir = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let mut before = Migrator::new(std::path::Path::new(&format!(
        "{}/migrations/{dir}",
        env!("CARGO_MANIFEST_DIR")
    )))
    .await
    .unwrap();
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version < 170)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    let configs = [
        ("all", r#"{"tool_exposure":"all"}"#),
        (
            "write",
            r#"{"methods":["write"],"tags":["macros"],"tool_exposure":"all"}"#,
        ),
        ("read", r#"{"methods":["read"],"tool_exposure":"all"}"#),
        (
            "named",
            r#"{"methods":["list","get"],"tool_exposure":"discovery"}"#,
        ),
    ];
    let account = "INSERT INTO integrated_accounts (id, integration, name, status, auth_type, context, credentials, created_at, updated_at) \
                   VALUES ('acc', 'gorgias', 'Acme', 'active', 'api_key', '{\"subdomain\":\"acme\"}', $1, 0, 0)";
    let server = "INSERT INTO mcp_servers (id, integrated_account_id, name, config, require_api_token_auth, expires_at, token_hash, created_at, updated_at) \
                  VALUES ($1, 'acc', $1, $2, false, NULL, $1, 0, 0)";
    // The same steps on either pool type (sqlx's pools share no trait these calls fit).
    macro_rules! as_the_old_version {
        ($pool:expr) => {{
            let pool = $pool;
            before.run(&pool).await.unwrap();
            sqlx::query(account)
                .bind(vec![1u8])
                .execute(&pool)
                .await
                .unwrap();
            for (id, config) in configs {
                sqlx::query(server)
                    .bind(id)
                    .bind(config)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            pool.close().await;
        }};
    }
    match backend {
        Backend::Sqlite => as_the_old_version!(
            sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
                .await
                .unwrap()
        ),
        Backend::Postgres => as_the_old_version!(sqlx::PgPool::connect(&url).await.unwrap()),
    }

    let store = Store::connect(&url).await.unwrap();
    let config = async |id: &str| {
        store
            .get_mcp_server("acc", id)
            .await
            .unwrap()
            .unwrap()
            .config
    };
    let all = config("all").await;
    assert!(all.admin_tools, "{all:?}");
    assert_eq!(all.methods, None);
    let write = config("write").await;
    assert!(write.admin_tools);
    assert_eq!(write.tags, Some(vec!["macros".to_owned()]));
    let read = config("read").await;
    assert!(!read.admin_tools, "{read:?}");
    assert_eq!(read.methods, Some(vec!["read".to_owned()]));
    // Harmless where the methods cannot write: the flag only adds tools the filters allow.
    let named = config("named").await;
    assert!(named.admin_tools);
    assert_eq!(
        named.tool_exposure,
        deskgate::mcp_servers::ToolExposure::Discovery
    );
}

#[tokio::test]
async fn a_large_audit_batch_is_written_whole_on_sqlite() {
    large_audit_batch(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_large_audit_batch_is_written_whole_on_postgres() {
    large_audit_batch(Backend::Postgres).await;
}

/// A batch larger than one statement may bind (SQLite: 32,766 values, 1,638 records) is written
/// whole, and writing records again (a write's completion after its intent) updates them.
async fn large_audit_batch(backend: Backend) {
    let Some(store) = store_with_a_server(backend).await else {
        return;
    };
    let batch: Vec<_> = (0..1700)
        .map(|i| call(&format!("c{i:04}"), "s1", "a1", Outcome::Pending))
        .collect();
    store.insert_tool_calls(&batch).await.unwrap();
    let completed: Vec<_> = (0..600)
        .map(|i| call(&format!("c{i:04}"), "s1", "a1", Outcome::Ok))
        .collect();
    store.insert_tool_calls(&completed).await.unwrap();

    let (mut ids, mut pending) = (Vec::new(), 0);
    let mut before_id = None;
    loop {
        let page = store
            .list_tool_calls(
                "a1",
                &ToolCallQuery {
                    before_id: before_id.clone(),
                    limit: 500,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before_id = Some(last.id.clone());
        pending += page
            .iter()
            .filter(|r| r.outcome == Outcome::Pending)
            .count();
        ids.extend(page.iter().map(|r| r.id.clone()));
    }
    ids.sort();
    let expected: Vec<_> = (0..1700).map(|i| format!("c{i:04}")).collect();
    assert_eq!(ids, expected);
    assert_eq!(pending, 1100, "the 600 completions updated their rows");
}
