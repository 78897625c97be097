use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_alive() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["status"],
        "alive"
    );
}

#[tokio::test]
async fn readyz_answers_ready_on_a_migrated_database() {
    let app = spawn_app().await;

    let response = app.get("/readyz").await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn readyz_answers_503_when_migrations_are_missing() {
    let app = spawn_app().await;
    app.execute("DELETE FROM _sqlx_migrations").await;

    let response = app.get("/readyz").await;

    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_ready");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("migrations pending")
    );
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    let headers = response.headers();
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors 'none'"));
    assert!(!policy.contains("unsafe-inline"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-request-id"].to_str().unwrap().len(), 36);
}

#[tokio::test]
async fn a_plain_incoming_request_id_is_kept_and_a_hostile_one_replaced() {
    let app = spawn_app().await;

    let kept = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "lb-1234")
        .send();
    let replaced = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "a b <script>")
        .send();

    assert_eq!(kept.await.unwrap().headers()["x-request-id"], "lb-1234");
    assert_ne!(
        replaced.await.unwrap().headers()["x-request-id"],
        "a b <script>"
    );
}

#[tokio::test]
async fn unknown_routes_get_the_json_error_shape() {
    let app = spawn_app().await;

    let response = app.get("/no/such/page?phone=15551234567").await;

    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_without_paths_or_queries() {
    let app = spawn_app().await;
    app.get("/healthz").await;
    app.get("/no/such/page?phone=15551234567").await;

    let response = app.get("/metrics").await;

    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains(r#"route="/healthz""#), "{text}");
    assert!(text.contains(r#"route="unmatched""#), "{text}");
    assert!(
        text.contains("textline_http_request_duration_seconds"),
        "{text}"
    );
    assert!(text.contains("textline_db_pool_connections"), "{text}");
    assert!(!text.contains("15551234567"));
    assert!(!text.contains("/no/such/page"));
}
