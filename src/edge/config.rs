//! The configuration cache: `[vars]`, `SOURCES`, `ORIGIN_SECRET` and each source's provider
//! (with its keys imported into `crypto.subtle`), read and validated once per isolate.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use worker::Env;

use super::crypto::{import_keys, OriginSigner, SubtleKeys};
use super::{describe_js, raw_var, secret, var, warn};
use crate::config::{names, ConfigError, Settings, Sources};
use crate::error::Error;
use crate::providers::{self, Provider};
use crate::signing::WebhookKey;

/// The configuration, read and validated once per isolate: env does not change while an
/// isolate lives (a deploy or a secret change starts new ones). Reading it costs a crossing
/// into JavaScript per variable and a conversion of `SOURCES`, which each delivery would
/// otherwise pay. A configuration error is not kept, so a fix shows on the next delivery.
pub(super) struct Config {
    pub settings: Settings,
    sources: Sources,
    pub key: WebhookKey,
    /// Providers built so far, by source; a source whose table is wrong is not kept.
    providers: RefCell<HashMap<String, Rc<Source>>>,
    /// `key` in `crypto.subtle`, once imported; `Some(None)` when importing failed (what
    /// goes to the origin is then signed in wasm).
    signer: RefCell<Option<Option<Rc<OriginSigner>>>>,
}

/// A source's provider, and its HMAC keys imported into `crypto.subtle`.
pub(super) struct Source {
    pub provider: Box<dyn Provider>,
    /// `None` when the provider has no keys, or when importing failed (its deliveries are
    /// then hashed in wasm).
    pub subtle: Option<SubtleKeys>,
}

thread_local! {
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
}

impl Config {
    pub fn get(env: &Env) -> Result<Rc<Config>, Error> {
        if let Some(c) = CONFIG.with_borrow(|c| c.clone()) {
            return Ok(c);
        }
        let config = Rc::new(Config {
            settings: Settings::from_vars(|n| var(env, n))?,
            sources: sources(env)?,
            key: origin_key(env)?,
            providers: RefCell::default(),
            signer: RefCell::default(),
        });
        CONFIG.set(Some(config.clone()));
        Ok(config)
    }

    /// `ORIGIN_SECRET` in `crypto.subtle`, imported on first use; `None` if that failed.
    pub async fn signer(&self) -> Option<Rc<OriginSigner>> {
        if let Some(signer) = self.signer.borrow().clone() {
            return signer;
        }
        let signer = match OriginSigner::new(&self.key).await {
            Ok(s) => Some(Rc::new(s)),
            Err(e) => {
                warn("subtle_import_failed", "", "", &describe_js(&e));
                None
            }
        };
        *self.signer.borrow_mut() = Some(signer.clone());
        signer
    }

    /// Whether `name` is a configured source (its table may still be wrong).
    pub fn has_source(&self, name: &str) -> bool {
        self.sources.contains(name)
    }

    /// Source `name`'s provider and keys: `None` when there is no such source.
    pub async fn source(&self, env: &Env, name: &str) -> Result<Option<Rc<Source>>, Error> {
        if let Some(p) = self.providers.borrow().get(name) {
            return Ok(Some(p.clone()));
        }
        let Some(cfg) = self.sources.get(name) else {
            return Ok(None);
        };
        let provider = providers::build(name, &cfg?, |n| secret(env, n))?;
        let subtle = match provider.mac_keys() {
            Some(keys) => import_keys(keys).await.map_err(|e| {
                warn("subtle_import_failed", name, "", &describe_js(&e));
            }),
            None => Err(()),
        };
        let source = Rc::new(Source {
            provider,
            subtle: subtle.ok(),
        });
        self.providers
            .borrow_mut()
            .insert(name.to_owned(), source.clone());
        Ok(Some(source))
    }
}

/// `SOURCES` as wrangler binds it (an object, from `[vars.SOURCES.<name>]` tables), or as
/// JSON text (set from the dashboard, or `wrangler dev --var SOURCES:'{…}'`).
fn sources(env: &Env) -> Result<Sources, Error> {
    let value = raw_var(env, names::SOURCES)
        .ok_or_else(|| ConfigError::Sources("not set: add [vars.SOURCES.<name>] tables".into()))?;
    let text = match value.as_string() {
        Some(text) => text,
        None => worker::js_sys::JSON::stringify(&value)
            .map(String::from)
            .map_err(|e| ConfigError::Sources(describe_js(&e)))?,
    };
    Ok(Sources::from_json(&text)?)
}

fn origin_key(env: &Env) -> Result<WebhookKey, Error> {
    let s = secret(env, names::ORIGIN_SECRET).ok_or(ConfigError::Var {
        name: names::ORIGIN_SECRET,
        problem: "not set: wrangler secret put ORIGIN_SECRET (a whsec_<base64> key)".into(),
    })?;
    WebhookKey::from_secret(&s).map_err(|e| {
        ConfigError::Var {
            name: names::ORIGIN_SECRET,
            problem: format!("{e}; expected whsec_<base64>"),
        }
        .into()
    })
}
