//! `token`: unsigned deliveries authenticated by a secret token in the path
//! (`/in/{source}/{token}`), a `Bearer` token, or a named header, compared in constant time
//! with each configured secret, as SmartBrowse, Apify, Bright Data, ScraperAPI and Airtop
//! callbacks need. No freshness check exists; the seen-ID set is the replay guard. The id,
//! status word, run, time and error come from the headers or body fields the source names.

use super::fields::{self, EventFields};
use super::{token_matches, Delivery, Facts, Prepared, Provider, Verified};
use crate::config::{SourceConfig, TokenAuth};
use crate::error::Error;
use crate::secret::Secret;

/// The name in `provider = "token"`.
pub const NAME: &str = "token";

/// The keys a token source may set besides `provider` and `secrets`.
pub fn keys() -> Vec<&'static str> {
    let mut keys = vec!["auth"];
    keys.extend(fields::KEYS);
    keys
}

/// A token source's verifier.
#[derive(Debug)]
pub struct Token {
    name: &'static str,
    secrets: Vec<Secret>,
    auth: TokenAuth,
    fields: EventFields,
}

impl Token {
    /// Builds the verifier named `name` (`token`, or a preset's name): `auth` is required.
    pub fn new(
        name: &'static str,
        cfg: &SourceConfig,
        secrets: Vec<Secret>,
    ) -> Result<Self, String> {
        cfg.only(name, &keys())?;
        let auth = cfg.auth.clone().ok_or(format!(
            "{name} deliveries are unsigned, so the source needs `auth` = \"path\", \"bearer\" \
             or \"header:<Header-Name>\""
        ))?;
        Ok(Token {
            name,
            secrets,
            auth,
            fields: EventFields::from_config(cfg)?,
        })
    }
}

/// The header a token is read from under `auth`, if any.
pub(crate) fn header_of(auth: &TokenAuth) -> Option<&str> {
    match auth {
        TokenAuth::Path => None,
        TokenAuth::Bearer => Some("Authorization"),
        TokenAuth::Header(name) => Some(name),
    }
}

/// Checks a delivery's token, found where `auth` says, against `secrets` in constant time.
pub(crate) fn check(
    auth: &TokenAuth,
    delivery: &Delivery<'_>,
    secrets: &[Secret],
) -> Result<(), Error> {
    let token = match auth {
        TokenAuth::Path => delivery.path_token.ok_or(Error::MissingToken {
            place: "in the path: /in/{source}/{token}".into(),
        })?,
        TokenAuth::Bearer => delivery
            .headers
            .get("Authorization")
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or(Error::MissingToken {
                place: "as `Authorization: Bearer <token>`".into(),
            })?,
        TokenAuth::Header(name) => {
            delivery
                .headers
                .get(name)
                .ok_or_else(|| Error::MissingToken {
                    place: format!("in the {name} header").into(),
                })?
        }
    };
    if token_matches(token, secrets) {
        Ok(())
    } else {
        Err(Error::BadToken)
    }
}

impl Provider for Token {
    fn name(&self) -> &'static str {
        self.name
    }

    fn headers_read(&self) -> Vec<&str> {
        header_of(&self.auth)
            .into_iter()
            .chain(self.fields.headers().iter().copied())
            .collect()
    }

    fn takes_path_token(&self) -> bool {
        self.auth == TokenAuth::Path
    }

    fn prepare<'a>(&self, delivery: &Delivery<'a>, _now_ms: u64) -> Result<Prepared<'a>, Error> {
        check(&self.auth, delivery, &self.secrets)?;
        Ok(Prepared::authenticated(delivery.body)
            .with_headers(self.fields.capture(delivery.headers)))
    }

    fn describe(&self, verified: &Verified<'_>) -> Result<Facts, Error> {
        self.fields.describe(verified)
    }
}
