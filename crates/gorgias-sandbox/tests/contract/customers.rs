//! §6.3 and §9.1: customers.

use serde_json::{Value, json};

use crate::support::{assert_keys, find_ticket, start};

const KEYS: &[&str] = &[
    "id",
    "email",
    "name",
    "firstname",
    "lastname",
    "meta",
    "channels",
    "data",
    "customer",
    "integrations",
    "external_id",
    "note",
    "active",
    "language",
    "timezone",
    "created_datetime",
    "updated_datetime",
];

#[tokio::test]
async fn create_with_channels_only_like_the_recording() {
    let h = start().await;
    let r = h
        .post(
            "/api/customers",
            json!({"channels": [{"type": "email", "address": "nango@example.com"}, {"type": "phone", "address": "0719908543"}]}),
        )
        .await;
    // §12 #1: 200 by default for customers.
    assert_eq!(r.status, 200, "{}", r.text);
    assert_keys(&r.body, KEYS);
    assert_eq!(r.body["email"], "nango@example.com");
    assert_eq!(r.body["name"], Value::Null);
    assert_eq!(r.body["firstname"], "");
    assert_eq!(r.body["lastname"], "");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["language"], Value::Null);
    assert_eq!(r.body["timezone"], Value::Null);
    assert_eq!(r.body["meta"], json!({"name_set_via": "agent"}));
    assert_eq!(r.body["custom_fields"], json!({}));
    let channels = r.body["channels"].as_array().expect("channels");
    assert_eq!(channels.len(), 2);
    assert!(
        channels
            .iter()
            .all(|c| c["preferred"] == true && c["id"].as_i64().is_some())
    );
    assert_eq!(channels[0]["customer"]["id"], r.body["id"]);
}

#[tokio::test]
async fn create_get_list_update_delete() {
    let h = start().await;
    let r = h
        .post(
            "/api/customers",
            json!({"email": "marie@example.fr", "name": "Marie Curie", "language": "fr", "timezone": "Europe/Paris", "note": "VIP", "external_id": "ext-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.body["id"].as_i64().expect("id");
    assert_eq!(r.body["firstname"], "Marie");
    assert_eq!(r.body["lastname"], "Curie");
    assert_eq!(r.body["channels"][0]["address"], "marie@example.fr");
    let by_email = h.get("/api/customers?email=marie@example.fr").await;
    assert_eq!(by_email.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(by_email.body["data"][0]["id"], id);
    let by_ext = h.get("/api/customers?external_id=ext-1").await;
    assert_eq!(by_ext.body["data"][0]["id"], id);
    let french = h.walk("/api/customers?language=fr&limit=100").await;
    assert!(french.iter().all(|c| c["language"] == "fr") && french.len() > 3);
    let by_channel = h
        .get("/api/customers?channel_type=email&channel_address=MARIE@example.fr")
        .await;
    assert_eq!(by_channel.body["data"][0]["id"], id);
    let upd = h
        .put(
            &format!("/api/customers/{id}"),
            json!({"channels": [{"type": "phone", "address": "+33 1 23 45 67 89"}], "note": null}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    assert_eq!(
        upd.body["channels"].as_array().map(Vec::len),
        Some(1),
        "channels are replaced"
    );
    assert_eq!(upd.body["note"], Value::Null);
    assert_eq!(upd.body["language"], "fr", "partial update");
    let bad = h
        .put(
            &format!("/api/customers/{id}"),
            json!({"language": "klingon", "timezone": "Mars/Base"}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.error_data()["language"].is_array() && bad.error_data()["timezone"].is_array());
    assert_eq!(h.delete(&format!("/api/customers/{id}")).await.status, 204);
    assert_eq!(h.get(&format!("/api/customers/{id}")).await.status, 404);
}

#[tokio::test]
async fn duplicate_address_is_a_conflict() {
    let h = start().await;
    h.post("/api/customers", json!({"email": "one@example.com"}))
        .await;
    let dup = h
        .post("/api/customers", json!({"email": "one@example.com"}))
        .await;
    assert_eq!(dup.status, 409);
    assert!(dup.body["error"]["msg"].is_string());
}

#[tokio::test]
async fn bulk_delete() {
    let h = start().await;
    let a = h
        .post("/api/customers", json!({"email": "a@example.com"}))
        .await
        .body["id"]
        .clone();
    let b = h
        .post("/api/customers", json!({"email": "b@example.com"}))
        .await
        .body["id"]
        .clone();
    let r = h
        .delete_with("/api/customers", json!({"ids": [a, b]}))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(h.get(&format!("/api/customers/{a}")).await.status, 404);
    assert_eq!(h.get(&format!("/api/customers/{b}")).await.status, 404);
    assert_eq!(h.delete_with("/api/customers", json!({})).await.status, 400);
}

#[tokio::test]
async fn merge_moves_tickets_and_channels() {
    let h = start().await;
    let t = find_ticket(&h, |t| t["customer"]["id"].is_i64());
    let source = t["customer"]["id"].as_i64().expect("id");
    let target = h
        .post(
            "/api/customers",
            json!({"email": "merged@example.com", "name": "Merged"}),
        )
        .await
        .body["id"]
        .as_i64()
        .expect("id");
    // Ids in the body instead of the query fail (§6.3).
    let wrong = h
        .put(
            "/api/customers/merge",
            json!({"source_id": source, "target_id": target}),
        )
        .await;
    assert_eq!(wrong.status, 400);
    let r = h
        .put(
            &format!("/api/customers/merge?source_id={source}&target_id={target}"),
            json!({"note": "merged"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], target);
    assert_eq!(r.body["note"], "merged");
    assert!(r.body["channels"].as_array().expect("channels").len() >= 2);
    assert_eq!(h.get(&format!("/api/customers/{source}")).await.status, 404);
    let moved = h.get(&format!("/api/tickets/{}", t["id"])).await;
    assert_eq!(moved.body["customer"]["id"], target);
    let theirs = h
        .walk(&format!("/api/tickets?customer_id={target}&limit=100"))
        .await;
    assert!(!theirs.is_empty());
    assert_eq!(
        h.put(
            &format!("/api/customers/merge?source_id={target}&target_id=1"),
            json!({})
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn customer_data_is_202_and_versioned() {
    let h = start().await;
    let id = h
        .post("/api/customers", json!({"email": "data@example.com"}))
        .await
        .body["id"]
        .as_i64()
        .expect("id");
    let path = format!("/api/customers/{id}/data");
    let r = h
        .put(
            &path,
            json!({"data": {"orders": 3}, "version": "2025-01-02T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 202);
    assert!(r.text.is_empty());
    assert_eq!(
        h.get(&format!("/api/customers/{id}")).await.body["data"],
        json!({"orders": 3})
    );
    // An older version is ignored silently.
    assert_eq!(
        h.put(
            &path,
            json!({"data": {"orders": 1}, "version": "2024-01-01T00:00:00Z"})
        )
        .await
        .status,
        202
    );
    assert_eq!(
        h.get(&format!("/api/customers/{id}")).await.body["data"],
        json!({"orders": 3})
    );
    assert_eq!(
        h.put(&path, json!({"version": "2026-01-01T00:00:00Z"}))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn customer_custom_field_values() {
    let h = start().await;
    let fields = h.get("/api/custom-fields?object_type=Customer").await;
    let tier = fields.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|f| f["label"] == "Customer tier")
        .expect("tier")["id"]
        .as_i64()
        .expect("id");
    let ltv = fields.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|f| f["label"] == "Lifetime value")
        .expect("ltv")["id"]
        .as_i64()
        .expect("id");
    let id = h
        .post("/api/customers", json!({"email": "cf@example.com"}))
        .await
        .body["id"]
        .as_i64()
        .expect("id");
    let path = format!("/api/customers/{id}/custom-fields");
    assert_eq!(
        h.put(
            &path,
            json!([{"id": tier, "value": "Gold"}, {"id": ltv, "value": 1200}])
        )
        .await
        .status,
        200
    );
    let list = h.get(&path).await;
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        h.put(&format!("{path}/{tier}"), json!("Platinum"))
            .await
            .status,
        400
    );
    assert_eq!(
        h.put(&format!("{path}/{tier}"), json!("VIP")).await.status,
        200
    );
    assert_eq!(h.put(&format!("{path}/{ltv}"), json!(-5)).await.status, 400);
    assert_eq!(h.delete(&format!("{path}/{ltv}")).await.status, 204);
    let c = h
        .get(&format!("/api/customers/{id}?relationships=custom_fields"))
        .await;
    assert_eq!(c.body["custom_fields"][tier.to_string()]["value"], "VIP");
    assert!(c.body["custom_fields"].get(ltv.to_string()).is_none());
    // Seeded customers carry language, note, tier and history for drafting replies.
    let seeded = h.sandbox.state().customers();
    let rich = seeded
        .iter()
        .filter(|c| {
            c["note"].is_string()
                && c["language"].is_string()
                && c["custom_fields"].as_object().is_some_and(|m| m.len() == 2)
        })
        .count();
    assert!(rich >= 10, "{rich}");
}
