//! The console's Logs tab as an operator uses it (issue 17): partial tool-name search, a date
//! range, unknown filter values refused, and the filtered calls exported as CSV and JSON Lines.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{RawMcp, TestServer};

#[tokio::test]
async fn logs_filter_by_part_of_a_name_and_a_day_and_export() {
    let s = TestServer::start().await;
    let account = s.connect_sandbox().await;
    let (_, url) = s.mint(&account, json!({"name": "logs"})).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    mcp.call("list_all_gorgias_tags", json!({"limit": 1})).await;
    mcp.call("list_all_gorgias_teams", json!({})).await;
    mcp.call("create_a_gorgias_tag", json!({"name": "logs_tag"}))
        .await;
    let base = format!("/ui/accounts/{account}/logs");
    let console = s.console(&base).await;
    let get = |path: String| {
        let console = &console;
        async move {
            let r = console
                .request(reqwest::Method::GET, &path)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let disposition = r
                .headers()
                .get("content-disposition")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, disposition, r.text().await.unwrap())
        }
    };

    // Part of a name, any case.
    let (status, _, page) = get(format!("{base}?tool=GORGIAS_TAG")).await;
    assert_eq!(status, StatusCode::OK);
    // (Rows show the tool in <code>; the name list for the search field holds every tool.)
    let row = |name: &str| format!("<code>{name}</code>");
    assert!(
        page.contains(&row("list_all_gorgias_tags")) && page.contains(&row("create_a_gorgias_tag"))
    );
    assert!(!page.contains(&row("list_all_gorgias_teams")), "{page}");
    // Times to the second.
    assert!(regex_like_seconds(&page), "no HH:MM:SS time on the page");

    // Today includes them; a day long gone does not.
    let today = deskgate::timestamp::Timestamp::now().to_rfc3339()[..10].to_owned();
    let (_, _, page) = get(format!("{base}?since={today}&until={today}")).await;
    assert!(page.contains(&row("list_all_gorgias_teams")), "{page}");
    let (_, _, page) = get(format!("{base}?until=2001-01-01")).await;
    assert!(page.contains("No tool call matches"), "{page}");

    // Unknown values are refused, not widened to everything.
    let (_, _, page) = get(format!("{base}?outcome=maybe")).await;
    assert!(
        page.contains("is not an outcome") && !page.contains(&row("list_all_gorgias_teams")),
        "{page}"
    );
    let (_, _, page) = get(format!("{base}?since=yesterday")).await;
    assert!(page.contains("is not a date"), "{page}");

    // Exports follow the filters.
    let (status, disposition, csv) = get(format!("{base}/export?format=csv&tool=tag")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(disposition.unwrap().contains(".csv"));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("id,at,mcp_server_id,tool,outcome"),
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "a header and the two tag calls: {csv}");
    let (status, _, jsonl) = get(format!("{base}/export?format=jsonl")).await;
    assert_eq!(status, StatusCode::OK);
    let records: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["tool"], "create_a_gorgias_tag", "newest first");
    let (status, _, why) = get(format!("{base}/export?format=xml")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(why.contains("csv or jsonl"), "{why}");
    // Without a session, no export.
    let anonymous = s
        .http
        .get(format!("{}{base}/export?format=csv", s.base))
        .send()
        .await
        .unwrap();
    // (The console sends a visitor without a session to sign in.)
    assert!(
        anonymous.url().path().contains("sign-in"),
        "{}",
        anonymous.url()
    );
    assert!(!anonymous.text().await.unwrap().starts_with("id,at"));
    s.stop().await;
}

/// Whether the page shows a time like `12:34:56 UTC`.
fn regex_like_seconds(page: &str) -> bool {
    page.match_indices(" UTC").any(|(i, _)| {
        i >= 8 && {
            let t = &page.as_bytes()[i - 8..i];
            t[2] == b':'
                && t[5] == b':'
                && t.iter()
                    .enumerate()
                    .all(|(k, c)| k == 2 || k == 5 || c.is_ascii_digit())
        }
    })
}
