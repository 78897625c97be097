use crate::helpers::spawn_app_with;

#[tokio::test]
async fn a_declared_oversized_body_gets_413_in_the_json_shape() {
    let app = spawn_app_with(&[("TEXTLINE_BODY_LIMIT_BYTES", "1024")]).await;

    let response = app
        .client
        .post(app.url("/setup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("code=".to_owned() + &"x".repeat(4096))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn a_streamed_oversized_body_without_length_gets_413() {
    let app = spawn_app_with(&[("TEXTLINE_BODY_LIMIT_BYTES", "1024")]).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..8).map(|_| Ok(b"x".repeat(512))).collect();
    let stream = futures_util::stream::iter(chunks);

    let response = app
        .client
        .post(app.url("/setup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
}
