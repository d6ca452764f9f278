//! The configuration cache: `[vars]`, `SOURCES`, `DESTINATIONS` (with each `url`
//! destination's signing key) and each source's provider (with its keys imported into
//! `crypto.subtle`), read and validated once per isolate.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use worker::Env;

use super::crypto::{import_keys, OriginSigner, SubtleKeys};
use super::{describe_js, raw_var, secret, var, warn};
use crate::config::{names, ConfigError, Settings, Sources};
use crate::destinations::{table, Destination, Destinations, Kind};
use crate::error::Error;
use crate::providers::{self, Provider};

/// The configuration, read and validated once per isolate: env does not change while an
/// isolate lives (a deploy or a secret change starts new ones). Reading it costs a crossing
/// into JavaScript per variable and a conversion of `SOURCES`, which each delivery would
/// otherwise pay. A configuration error is not kept, so a fix shows on the next delivery.
pub(super) struct Config {
    pub settings: Settings,
    sources: Sources,
    /// Every destination, validated against the secrets and bindings there are: a wrong
    /// table is a configuration error, so nothing is accepted that could not be routed.
    pub destinations: Destinations,
    /// Providers built so far, by source; a source whose table is wrong is not kept.
    providers: RefCell<HashMap<String, Rc<Source>>>,
    /// Each `url` destination's key in `crypto.subtle`, once imported; `None` when
    /// importing failed (what goes to it is then signed in wasm).
    signers: RefCell<HashMap<String, Option<Rc<OriginSigner>>>>,
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
        let settings = Settings::from_vars(|n| var(env, n))?;
        let sources = Sources::from_json(&table_json(env, names::SOURCES)?.ok_or_else(|| {
            ConfigError::Sources("not set: add [vars.SOURCES.<name>] tables".into())
        })?)?;
        let lookups = table::Lookups {
            secret: &|n| secret(env, n),
            queue_bound: &|b| env.queue(b).is_ok(),
            source_exists: &|s| sources.contains(s),
        };
        let tables = table_json(env, names::DESTINATIONS)?;
        let destinations = table::destinations(tables.as_deref(), &settings, &lookups)?;
        let config = Rc::new(Config {
            settings,
            sources,
            destinations,
            providers: RefCell::default(),
            signers: RefCell::default(),
        });
        CONFIG.set(Some(config.clone()));
        Ok(config)
    }

    /// A `url` destination's key in `crypto.subtle`, imported on first use; `None` for a
    /// queue destination or if importing failed.
    pub async fn signer(&self, destination: &Destination) -> Option<Rc<OriginSigner>> {
        let Kind::Url { key, .. } = &destination.kind else {
            return None;
        };
        if let Some(signer) = self.signers.borrow().get(&destination.name) {
            return signer.clone();
        }
        let signer = match OriginSigner::new(key).await {
            Ok(s) => Some(Rc::new(s)),
            Err(e) => {
                warn("subtle_import_failed", "", "", &describe_js(&e));
                None
            }
        };
        self.signers
            .borrow_mut()
            .insert(destination.name.clone(), signer.clone());
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

/// A table of tables (`SOURCES`, `DESTINATIONS`) as JSON text: wrangler binds
/// `[vars.NAME.<key>]` tables as an object; set from the dashboard, or with `wrangler dev
/// --var NAME:'{…}'`, it is JSON text already. `None` when it is not set.
fn table_json(env: &Env, name: &'static str) -> Result<Option<String>, Error> {
    let Some(value) = raw_var(env, name) else {
        return Ok(None);
    };
    match value.as_string() {
        Some(text) => Ok(Some(text)),
        None => worker::js_sys::JSON::stringify(&value)
            .map(|t| Some(String::from(t)))
            .map_err(|e| {
                ConfigError::Var {
                    name,
                    problem: describe_js(&e),
                }
                .into()
            }),
    }
}
