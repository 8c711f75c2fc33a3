//! The Gorgias integration as deskgate runs it: the definition embedded from `integrations/`,
//! its catalog built once at start-up, and per-account catalogs completed with each account's
//! own custom fields (fetched from Gorgias and cached for a short TTL).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use include_dir::{Dir, include_dir};
use integration_spec::{Catalog, Connection, CustomFields, Definition, Directory};

use crate::accounts::AccountContext;
use crate::upstream;

/// How soon a failed custom-field fetch is tried again.
const FAILED_FETCH_RETRY: Duration = Duration::from_secs(10);

/// The definitions, compiled into the binary so a release is one file.
static DEFINITIONS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../integrations");

#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    #[error("no definition for integration {0:?} is built in")]
    Unknown(String),
    #[error("the {name} definition does not load: {reason}")]
    Invalid { name: String, reason: String },
}

pub struct Integration {
    definition: Definition,
    catalog: Catalog,
    custom_fields_ttl: Duration,
    accounts: Mutex<HashMap<String, Arc<AccountCatalog>>>,
    fetch_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Each account's directories (teams, users, tags), by (account id, directory name).
    directories: Mutex<HashMap<(String, String), CachedDirectory>>,
}

#[derive(Clone)]
struct CachedDirectory {
    directory: Arc<Directory>,
    fetched: Instant,
}

/// One account's catalog: the base catalog completed with its custom fields.
pub struct AccountCatalog {
    pub catalog: Catalog,
    valid_until: Instant,
    /// How many custom fields completed the schemas (0 when fetching them failed).
    pub custom_fields: usize,
}

impl Integration {
    /// The built-in Gorgias integration.
    pub fn gorgias(custom_fields_ttl: Duration) -> Result<Self, IntegrationError> {
        Self::builtin("gorgias", custom_fields_ttl)
    }

    pub fn builtin(name: &str, custom_fields_ttl: Duration) -> Result<Self, IntegrationError> {
        let dir = DEFINITIONS
            .get_dir(name)
            .ok_or_else(|| IntegrationError::Unknown(name.to_owned()))?;
        let files: Vec<(String, &str)> = dir
            .files()
            .filter(|f| {
                f.path()
                    .extension()
                    .is_some_and(|e| e == "yaml" || e == "yml")
            })
            .filter_map(|f| {
                Some((
                    format!("integrations/{}", f.path().display()),
                    f.contents_utf8()?,
                ))
            })
            .collect();
        let borrowed: Vec<(&str, &str)> = files.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        let invalid = |reason: String| IntegrationError::Invalid {
            name: name.to_owned(),
            reason,
        };
        let definition = Definition::from_files(&borrowed).map_err(|e| invalid(e.to_string()))?;
        let catalog = Catalog::build(&definition).map_err(|e| invalid(e.to_string()))?;
        Ok(Self {
            definition,
            catalog,
            custom_fields_ttl,
            accounts: Mutex::new(HashMap::new()),
            fetch_locks: Mutex::new(HashMap::new()),
            directories: Mutex::new(HashMap::new()),
        })
    }

    pub fn name(&self) -> &str {
        self.definition.name()
    }

    /// The definition the tools come from.
    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    pub fn title(&self) -> &str {
        self.definition.title()
    }

    pub fn connection(&self) -> &Connection {
        self.definition.connection()
    }

    /// The catalog without any account's custom fields.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn summary(&self) -> integration_spec::Summary {
        self.catalog.summary()
    }

    pub fn openapi(&self) -> serde_json::Value {
        self.definition.openapi()
    }

    pub fn validate_subdomain(&self, raw: &str) -> Result<String, String> {
        self.connection().validate_subdomain(raw)
    }

    /// Where an account's API lives: its custom base (sandbox, tests) or the integration's.
    pub fn base_url(&self, context: &AccountContext) -> String {
        match &context.api_base_url {
            Some(base) => base.clone(),
            None => self.connection().base_url_for(&context.subdomain),
        }
    }

    /// The cheap authenticated request that proves credentials work.
    pub fn verify_request(&self) -> upstream::Request {
        let verify = &self.connection().verify;
        upstream::Request {
            method: upstream::method(&verify.method),
            path: verify.path.clone(),
            query: Vec::new(),
            body: None,
            encoding: upstream::BodyEncoding::Json,
        }
    }

    /// The human message inside an upstream error body, if it has one.
    pub fn error_message(&self, body: &[u8]) -> Option<String> {
        self.connection().error_message(body)
    }

    /// A cached account catalog that is still fresh.
    pub fn cached_account_catalog(&self, account_id: &str) -> Option<Arc<AccountCatalog>> {
        let accounts = self
            .accounts
            .lock()
            .expect("account catalogs lock poisoned");
        accounts
            .get(account_id)
            .filter(|c| Instant::now() < c.valid_until)
            .cloned()
    }

    /// Caches an account's catalog completed with `fields` (or the base catalog when fetching
    /// them failed) and returns it.
    pub fn remember_account_catalog(
        &self,
        account_id: &str,
        fields: Option<&CustomFields>,
    ) -> Arc<AccountCatalog> {
        let entry = Arc::new(match fields {
            Some(fields) => AccountCatalog {
                catalog: self.catalog.with_custom_fields(fields),
                valid_until: Instant::now() + self.custom_fields_ttl,
                custom_fields: fields.len(),
            },
            // Try again soon rather than serving the incomplete catalog for a whole TTL.
            None => AccountCatalog {
                catalog: self.catalog.clone(),
                valid_until: Instant::now() + FAILED_FETCH_RETRY.min(self.custom_fields_ttl),
                custom_fields: 0,
            },
        });
        self.accounts
            .lock()
            .expect("account catalogs lock poisoned")
            .insert(account_id.to_owned(), entry.clone());
        entry
    }

    fn fetch_lock(&self, account_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.fetch_locks
            .lock()
            .expect("fetch locks poisoned")
            .entry(account_id.to_owned())
            .or_default()
            .clone()
    }

    /// Drops an account's cached catalog (deleted or reconnected account).
    pub fn forget_account(&self, account_id: &str) {
        self.accounts
            .lock()
            .expect("account catalogs lock poisoned")
            .remove(account_id);
        self.directories
            .lock()
            .expect("directories lock poisoned")
            .retain(|(account, _), _| account != account_id);
        self.fetch_locks
            .lock()
            .expect("fetch locks poisoned")
            .remove(account_id);
    }
}

impl crate::app::App {
    /// An account's catalog, completed with its custom fields. Fetched from the account
    /// at most once per TTL; when the fetch fails the base catalog serves (and is retried after
    /// a short pause) so tools keep working without the custom-field detail.
    pub async fn account_catalog(
        &self,
        account: &crate::accounts::IntegratedAccount,
        sealed_credentials: &[u8],
    ) -> Arc<AccountCatalog> {
        if let Some(cached) = self.integration.cached_account_catalog(&account.id) {
            return cached;
        }
        // One fetch per account at a time; the others wait for it and take its result.
        let lock = self.integration.fetch_lock(&account.id);
        let _guard = lock.lock().await;
        if let Some(cached) = self.integration.cached_account_catalog(&account.id) {
            return cached;
        }
        match self.fetch_custom_fields(account, sealed_credentials).await {
            Ok(fields) => self
                .integration
                .remember_account_catalog(&account.id, Some(&fields)),
            Err(why) => {
                tracing::warn!(
                    integrated_account.id = %account.id,
                    error = %why,
                    "could not fetch the account's custom fields; serving the catalog without them"
                );
                self.integration.remember_account_catalog(&account.id, None)
            }
        }
    }

    async fn fetch_custom_fields(
        &self,
        account: &crate::accounts::IntegratedAccount,
        sealed_credentials: &[u8],
    ) -> Result<CustomFields, String> {
        let connection = self.integration.connection();
        let mut fields = CustomFields::empty();
        for source in &connection.custom_fields {
            // More custom fields than 20 pages of them is not plausible.
            for page in self
                .list_pages(account, sealed_credentials, &source.path, &source.query, 20)
                .await?
            {
                fields.add_page(source, &page)?;
            }
        }
        Ok(fields)
    }

    /// An account's directory (`teams`, `users`, `tags`), fetched when the cached one is older
    /// than `max_age` (or the custom-field TTL), so names given in arguments can be resolved.
    /// `None` when the directory cannot be listed (the call then asks for an id).
    pub async fn account_directory(
        &self,
        account: &crate::accounts::IntegratedAccount,
        sealed_credentials: &[u8],
        name: &str,
        max_age: Option<Duration>,
    ) -> Option<Arc<Directory>> {
        let key = (account.id.clone(), name.to_owned());
        let max_age = max_age.unwrap_or(self.integration.custom_fields_ttl);
        let fresh = |cache: &HashMap<(String, String), CachedDirectory>| {
            cache
                .get(&key)
                .filter(|c| c.fetched.elapsed() < max_age)
                .map(|c| c.directory.clone())
        };
        if let Some(d) = fresh(
            &self
                .integration
                .directories
                .lock()
                .expect("directories lock poisoned"),
        ) {
            return Some(d);
        }
        let source = self
            .integration
            .connection()
            .directories
            .iter()
            .find(|d| d.name == name)?;
        let lock = self
            .integration
            .fetch_lock(&format!("{}/{name}", account.id));
        let _guard = lock.lock().await;
        if let Some(d) = fresh(
            &self
                .integration
                .directories
                .lock()
                .expect("directories lock poisoned"),
        ) {
            return Some(d);
        }
        // A directory of more than 50 pages of 100 is not one a name is picked from.
        let pages = match self
            .list_pages(account, sealed_credentials, &source.path, &[], 50)
            .await
        {
            Ok(pages) => pages,
            Err(why) => {
                tracing::warn!(integrated_account.id = %account.id, directory = name, error = %why, "could not list a directory to resolve names");
                return None;
            }
        };
        let mut directory = Directory::default();
        for page in &pages {
            directory.add_page(source, page);
        }
        let directory = Arc::new(directory);
        self.integration
            .directories
            .lock()
            .expect("directories lock poisoned")
            .insert(
                key,
                CachedDirectory {
                    directory: directory.clone(),
                    fetched: Instant::now(),
                },
            );
        Some(directory)
    }

    /// Every page of a cursor-paginated list, at most `max_pages` of them (a cursor that never
    /// ends must not loop forever).
    async fn list_pages(
        &self,
        account: &crate::accounts::IntegratedAccount,
        sealed_credentials: &[u8],
        path: &str,
        query: &[(String, String)],
        max_pages: usize,
    ) -> Result<Vec<serde_json::Value>, String> {
        let connection = self.integration.connection();
        let authorization = self
            .authorization(account, sealed_credentials)
            .await
            .map_err(|e| e.to_string())?;
        let base_url = self.integration.base_url(&account.context);
        let target = upstream::Target {
            base_url: &base_url,
            authorization: &authorization,
        };
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..max_pages {
            let mut query = query.to_vec();
            query.push((connection.pagination.limit_param.clone(), "100".to_owned()));
            if let Some(c) = &cursor {
                query.push((connection.pagination.cursor_param.clone(), c.clone()));
            }
            let response = self
                .upstream
                .send(
                    &target,
                    &upstream::Request {
                        method: http::Method::GET,
                        path: path.to_owned(),
                        query,
                        body: None,
                        encoding: upstream::BodyEncoding::Json,
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            if !response.status.is_success() {
                return Err(format!(
                    "GET {path} answered HTTP {}",
                    response.status.as_u16()
                ));
            }
            let page: serde_json::Value = serde_json::from_slice(&response.body)
                .map_err(|e| format!("GET {path}: the page is not JSON: {e}"))?;
            cursor = page
                .pointer(&connection.pagination.next_cursor_pointer)
                .and_then(|c| c.as_str())
                .map(str::to_owned);
            pages.push(page);
            if cursor.is_none() {
                break;
            }
        }
        Ok(pages)
    }
}
