use textline::staff::Role;

use crate::helpers::spawn_app;

/// Every protected route with the smallest role that may use it.
const PROTECTED_ROUTES: &[(&str, Role)] = &[
    ("/api/v1/me", Role::Caseworker),
    ("/api/v1/users", Role::Admin),
];

#[tokio::test]
async fn protected_routes_answer_401_without_a_token() {
    let app = spawn_app().await;

    for (route, _) in PROTECTED_ROUTES {
        let response = app.get(route).await;

        assert_eq!(response.status(), 401, "{route}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
}

#[tokio::test]
async fn protected_routes_answer_401_for_an_unknown_or_malformed_token() {
    let app = spawn_app().await;

    for token in ["tl_not-a-real-token", "garbage", ""] {
        let response = app.get_with_token("/api/v1/me", token).await;

        assert_eq!(response.status(), 401, "{token:?}");
    }
}

#[tokio::test]
async fn each_role_reaches_exactly_the_routes_its_role_allows() {
    let app = spawn_app().await;

    for role in Role::ALL {
        let token = app.token_for(role).await;
        for (route, required) in PROTECTED_ROUTES {
            let response = app.get_with_token(route, &token).await;

            let expected = if role.includes(*required) { 200 } else { 403 };
            assert_eq!(response.status(), expected, "{role} on {route}");
        }
    }
}

#[tokio::test]
async fn me_shows_the_callers_role_and_no_email_address() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Supervisor).await;

    let response = app.get_with_token("/api/v1/me", &token).await;

    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["role"], "supervisor");
    assert!(!body.to_string().contains('@'));
}
