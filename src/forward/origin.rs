//! The signed POST of an envelope to a `url` destination (CONTRACT §5).

use crate::envelope::CLOUDEVENTS_CONTENT_TYPE;
use crate::signing::WebhookKey;

/// A signed POST of an envelope to the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginRequest<'a> {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    /// The envelope, borrowed: it may be megabytes.
    pub body: &'a str,
}

/// Builds the origin request: the envelope as body, CloudEvents content type, and the
/// Standard Webhooks headers signed at `now_s`.
pub fn origin_request<'a>(
    url: &str,
    key: &WebhookKey,
    id: &str,
    envelope_json: &'a str,
    now_s: i64,
) -> OriginRequest<'a> {
    let signature = key.sign(id, now_s, envelope_json.as_bytes());
    origin_request_signed(url, id, envelope_json, now_s, signature)
}

/// As [`origin_request`], with the `webhook-signature` value made elsewhere (the Worker's
/// `crypto.subtle`, over [`WebhookKey::signed_content`]).
pub fn origin_request_signed<'a>(
    url: &str,
    id: &str,
    envelope_json: &'a str,
    now_s: i64,
    signature: String,
) -> OriginRequest<'a> {
    let mut headers = vec![("content-type", CLOUDEVENTS_CONTENT_TYPE.to_owned())];
    headers.extend(WebhookKey::headers_with(id, now_s, signature));
    OriginRequest {
        url: url.to_owned(),
        headers,
        body: envelope_json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_requests_carry_a_verifiable_signature() {
        let key = WebhookKey::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let req = origin_request(
            "http://o/events",
            &key,
            "skyvern:r:completed",
            "{}",
            1_700_000_000,
        );
        let h = |name: &str| {
            req.headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            h("content-type"),
            Some("application/cloudevents+json; charset=utf-8")
        );
        assert_eq!(h("webhook-id"), Some("skyvern:r:completed"));
        assert_eq!(key.verify(h, b"{}", 1_700_000_000, 300), Ok(()));
    }
}
