//! Twilio signature tests: every vector of the reference (sections 9.1 and 11), forgeries,
//! and properties of the canonical string.

use proptest::prelude::*;

use super::*;

const TOKEN: &str = "12345";
const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// The parameters of the default case in the reference.
fn call_params() -> Vec<(String, String)> {
    pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ])
}

fn keys(token: &str) -> TwilioKeys {
    TwilioKeys {
        auth_token: SecretString::from(token),
        shared_key: None,
    }
}

fn signed(signature: &str) -> Headers {
    Headers::new().with("X-Twilio-Signature", signature)
}

fn check_form(url: &str, params: &[(String, String)], signature: &str) -> Result<(), WebhookError> {
    verify_signature(
        &keys(TOKEN),
        url,
        SignedPayload::Form(params),
        &signed(signature),
    )
}

fn check_json(url: &str, body: &str, signature: &str) -> Result<(), WebhookError> {
    let payload = SignedPayload::Json(body.as_bytes());
    verify_signature(&keys(TOKEN), url, payload, &signed(signature))
}

#[test]
fn signed_string_is_the_url_then_sorted_names_and_values() {
    let expected = "https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDE\
                    Caller+14158675309Digits1234From+14158675309To+18005551212";
    assert_eq!(signed_string(URL, &call_params()), expected);
}

#[test]
fn reference_default_vector_is_accepted() {
    let signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    assert_eq!(check_form(URL, &call_params(), signature), Ok(()));
    let key = SecretString::from(TOKEN);
    let computed = compute_signature(&key, SignatureAlgorithm::HmacSha1, URL, &call_params());
    assert_eq!(computed, signature);
}

#[test]
fn reference_vector_with_https_port_1234_is_accepted_by_stripping_the_port() {
    let url = "https://mycompany.com:1234/myapp.php?foo=1&bar=2";
    assert_eq!(
        check_form(url, &call_params(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        Ok(())
    );
}

#[test]
fn reference_vector_signed_with_443_is_accepted_for_a_url_without_port() {
    assert_eq!(
        check_form(URL, &call_params(), "kvajT1Ptam85bY51eRf/AJRuM3w="),
        Ok(())
    );
}

#[test]
fn reference_vector_signed_with_80_is_accepted_for_an_http_url_without_port() {
    let url = "http://mycompany.com/myapp.php?foo=1&bar=2";
    assert_eq!(
        check_form(url, &call_params(), "0ZXoZLH/DfblKGATFgpif+LLRf4="),
        Ok(())
    );
}

#[test]
fn reference_vector_for_http_with_port_1234_is_accepted_with_the_port_kept() {
    let url = "http://mycompany.com:1234/myapp.php?foo=1&bar=2";
    assert_eq!(
        check_form(url, &call_params(), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        Ok(())
    );
}

#[test]
fn reference_vector_with_duplicate_keys_and_values_is_accepted() {
    let params = pairs(&[
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]);
    let expected = format!("{URL}Digits1234Digits5678SidCA123SidAccountAC123");
    assert_eq!(signed_string(URL, &params), expected);
    assert_eq!(
        check_form(URL, &params, "IK+Dwps556ElfBT0I3Rgjkr1wJU="),
        Ok(())
    );
}

#[test]
fn reference_vector_with_an_array_parameter_is_accepted_in_either_order() {
    let name = "MessagingBinding.Address";
    let signature = "83O6e2vORAoJHUNzJjDWN1jz+BA=";
    let forward = pairs(&[(name, "+1325xxxxxxx"), (name, "+1415xxxxxxx")]);
    let backward = pairs(&[(name, "+1415xxxxxxx"), (name, "+1325xxxxxxx")]);
    assert_eq!(check_form(URL, &forward, signature), Ok(()));
    assert_eq!(check_form(URL, &backward, signature), Ok(()));
}

#[test]
fn reference_vector_with_credentials_in_the_url_is_accepted() {
    let url = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";
    assert_eq!(
        check_form(url, &call_params(), "CukzLTc1tT5dXEDIHm/tKBanW10="),
        Ok(())
    );
}

#[test]
fn reference_vector_with_credentials_and_port_443_is_accepted() {
    let url = "https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2";
    assert_eq!(
        check_form(url, &call_params(), "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="),
        Ok(())
    );
    // The port variant keeps the credentials whole, unlike twilio-python's remove_port.
    let (without, _) = port_variants(url);
    assert_eq!(
        without,
        "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2"
    );
}

#[test]
fn reference_vector_with_a_username_only_is_accepted() {
    let url = "https://user@mycompany.com/myapp.php?foo=1&bar=2";
    assert_eq!(
        check_form(url, &call_params(), "2YRLlVAflCqxaNicjMpJcSTgzSs="),
        Ok(())
    );
}

#[test]
fn reference_vector_with_an_encoded_apostrophe_is_checked_over_the_url_as_given() {
    let encoded = format!("{URL}&Body=It%27s+amazing");
    assert_eq!(
        check_form(&encoded, &call_params(), "TfZzewPq8wqrGlMfyAud8+/IvJ0="),
        Ok(())
    );
    // The query is never re-encoded: a raw apostrophe is signed as it is, as in Python.
    let raw = format!("{URL}&Body=It's+amazing");
    assert_eq!(
        check_form(&raw, &call_params(), "dsq4Ehbj6cs+KdTkpF5sSSplOWw="),
        Ok(())
    );
    assert_eq!(
        check_form(&raw, &call_params(), "TfZzewPq8wqrGlMfyAud8+/IvJ0="),
        Err(WebhookError::SignatureInvalid)
    );
}

#[test]
fn reference_vector_from_older_twilio_documentation_is_accepted() {
    let params = pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]);
    assert_eq!(
        check_form(URL, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        Ok(())
    );
}

const BODY: &str = r#"{"property": "value", "boolean": true}"#;
const BODY_HASH: &str = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

#[test]
fn reference_json_body_vector_is_accepted() {
    assert_eq!(hex::encode(Sha256::digest(BODY.as_bytes())), BODY_HASH);
    let url = format!("{URL}&bodySHA256={BODY_HASH}");
    assert_eq!(
        check_json(&url, BODY, "a9nBmqA0ju/hNViExpshrM61xv4="),
        Ok(())
    );
}

#[test]
fn reference_empty_json_body_vector_is_accepted_through_the_443_variant() {
    let hash = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    let url = format!("{URL}&bodySHA256={hash}");
    assert_eq!(
        check_json(&url, "{}", "Ldidvp12m26NI7eqEvxnEpkd9Hc="),
        Ok(())
    );
    assert_eq!(
        check_json(&url, "{}", "rw/jVviOgicj2+kHZULvebnA4ag="),
        Ok(())
    );
}

#[test]
fn reference_vector_with_only_the_body_hash_in_the_query_is_accepted() {
    let url = format!("https://mycompany.com/myapp.php?bodySHA256={BODY_HASH}");
    assert_eq!(
        check_json(&url, BODY, "y77kIzt2vzLz71DgmJGsen2scGs="),
        Ok(())
    );
}

#[test]
fn tampered_json_body_is_refused() {
    let url = format!("{URL}&bodySHA256={BODY_HASH}");
    let tampered = r#"{"property": "value", "boolean": false}"#;
    assert_eq!(
        check_json(&url, tampered, "a9nBmqA0ju/hNViExpshrM61xv4="),
        Err(WebhookError::SignatureInvalid)
    );
}

#[test]
fn json_body_without_a_body_hash_in_the_url_is_refused() {
    let signature = compute_signature(
        &SecretString::from(TOKEN),
        SignatureAlgorithm::HmacSha1,
        URL,
        &[],
    );
    assert_eq!(
        check_json(URL, BODY, &signature),
        Err(WebhookError::SignatureInvalid)
    );
}

#[test]
fn reference_shared_key_sha256_vector_is_accepted_with_the_settings_header() {
    let keys = TwilioKeys {
        auth_token: SecretString::from("a different auth token"),
        shared_key: Some(SecretString::from(TOKEN)),
    };
    let headers = signed("033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s=").with(
        SIGNATURE_SETTINGS_HEADER,
        "key=KS0123,algorithm=HMAC_SHA256",
    );
    let params = call_params();
    assert_eq!(
        verify_signature(&keys, URL, SignedPayload::Form(&params), &headers),
        Ok(())
    );
}

#[test]
fn shared_key_signature_without_the_settings_header_is_refused() {
    let keys = TwilioKeys {
        auth_token: SecretString::from(TOKEN),
        shared_key: Some(SecretString::from(TOKEN)),
    };
    let params = call_params();
    let headers = signed("033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s=");
    let outcome = verify_signature(&keys, URL, SignedPayload::Form(&params), &headers);
    assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
}

#[test]
fn settings_header_without_an_algorithm_means_the_auth_token_and_sha1() {
    let params = call_params();
    let headers =
        signed("RSOYDt4T1cUTdK1PDd93/VVr8B8=").with(SIGNATURE_SETTINGS_HEADER, "key=KS0123");
    let outcome = verify_signature(&keys(TOKEN), URL, SignedPayload::Form(&params), &headers);
    assert_eq!(outcome, Ok(()));
}

#[test]
fn settings_header_naming_an_algorithm_needs_a_configured_shared_key() {
    let params = call_params();
    let headers = signed("033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s=").with(
        SIGNATURE_SETTINGS_HEADER,
        "key=KS0123,algorithm=HMAC_SHA256",
    );
    let outcome = verify_signature(&keys(TOKEN), URL, SignedPayload::Form(&params), &headers);
    assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
}

#[test]
fn unsupported_algorithm_in_the_settings_header_is_refused() {
    let keys = TwilioKeys {
        auth_token: SecretString::from(TOKEN),
        shared_key: Some(SecretString::from(TOKEN)),
    };
    let params = call_params();
    let headers = signed("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        .with(SIGNATURE_SETTINGS_HEADER, "key=KS0123,algorithm=NONE");
    let outcome = verify_signature(&keys, URL, SignedPayload::Form(&params), &headers);
    assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
}

#[test]
fn forged_signature_is_refused() {
    let outcome = check_form(URL, &call_params(), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
}

#[test]
fn signature_made_with_another_token_is_refused() {
    let params = call_params();
    let outcome = verify_signature(
        &keys("54321"),
        URL,
        SignedPayload::Form(&params),
        &signed("RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    );
    assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
}

#[test]
fn missing_or_empty_signature_header_is_reported_as_missing() {
    let params = call_params();
    for headers in [Headers::new(), signed("  ")] {
        let outcome = verify_signature(&keys(TOKEN), URL, SignedPayload::Form(&params), &headers);
        assert_eq!(outcome, Err(WebhookError::SignatureMissing));
    }
}

#[test]
fn changed_added_or_removed_parameter_is_refused() {
    let signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    let mut changed = call_params();
    changed[2].1 = "1235".into();
    let mut added = call_params();
    added.push(("Body".into(), "injected".into()));
    let mut removed = call_params();
    removed.pop();
    for params in [changed, added, removed] {
        assert_eq!(
            check_form(URL, &params, signature),
            Err(WebhookError::SignatureInvalid)
        );
    }
}

#[test]
fn changed_url_is_refused() {
    let url = "https://mycompany.com/myapp.php?foo=1&bar=3";
    let outcome = check_form(url, &call_params(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
}

#[test]
fn port_variants_cover_the_url_with_and_without_its_port() {
    let cases = [
        (
            "https://h.example/p?q",
            "https://h.example/p?q",
            "https://h.example:443/p?q",
        ),
        (
            "http://h.example",
            "http://h.example",
            "http://h.example:80",
        ),
        (
            "https://h.example:8443/p",
            "https://h.example/p",
            "https://h.example:8443/p",
        ),
        (
            "https://[::1]:8443/p",
            "https://[::1]/p",
            "https://[::1]:8443/p",
        ),
        ("https://[::1]/p", "https://[::1]/p", "https://[::1]:443/p"),
        ("not a url", "not a url", "not a url"),
    ];
    for (url, without, with) in cases {
        let (actual_without, actual_with) = port_variants(url);
        assert_eq!(
            (actual_without.as_ref(), actual_with.as_ref()),
            (without, with),
            "{url}"
        );
    }
}

fn param_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("[A-Za-z]{1,8}", "[ -~é€]{0,12}"), 1..8)
}

/// Distinct names, so that no value can hide behind a duplicate of itself.
fn distinct_param_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[A-Za-z]{1,8}", "[ -~é€]{0,12}", 1..8)
        .prop_map(|map| map.into_iter().collect())
}

proptest! {
    #[test]
    fn parameter_order_never_changes_the_signature(
        (params, shuffled) in param_strategy()
            .prop_flat_map(|params| (Just(params.clone()), Just(params).prop_shuffle())),
    ) {
        let key = SecretString::from(TOKEN);
        let original = compute_signature(&key, SignatureAlgorithm::HmacSha1, URL, &params);
        let reordered = compute_signature(&key, SignatureAlgorithm::HmacSha1, URL, &shuffled);
        prop_assert_eq!(original, reordered);
    }

    #[test]
    fn any_change_to_any_value_breaks_the_signature(
        params in distinct_param_strategy(),
        index in any::<prop::sample::Index>(),
        extra in "[ -~]{1,4}",
        prepend in any::<bool>(),
    ) {
        let key = SecretString::from(TOKEN);
        let signature = compute_signature(&key, SignatureAlgorithm::HmacSha1, URL, &params);
        let target = index.index(params.len());
        let mut tampered = params.clone();
        let value = &mut tampered[target].1;
        if prepend {
            value.insert_str(0, &extra);
        } else {
            value.push_str(&extra);
        }
        let outcome = check_form(URL, &tampered, &signature);
        prop_assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
    }
}
