//! What deskgate's authorization server keeps (see `auth_server`): registered clients, grants
//! (one operator approval, its authorization code and the tokens issued from it) and tokens,
//! all by hash. The portable SQL is written once, like `queries.rs`, in its own macro so the
//! OAuth tables stay in one place.
//!
//! Single use across replicas: exchanging a code and rotating a refresh token are each one
//! `UPDATE … WHERE redeemed_at/used_at IS NULL`, which only one writer can win on either
//! backend; the loser reads the row again to tell "already used" (a replay: the grant is
//! revoked) from "unknown".

use super::{Store, StoreError};
use crate::timestamp::Timestamp;

/// A registered OAuth client (public: no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub created_at: Timestamp,
}

/// A grant as stored: who approved which client for which server, and its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthGrant {
    pub id: String,
    pub mcp_server_id: String,
    pub client_id: String,
    pub client_name: String,
    pub approved_by: String,
    /// The person who approved it, when a person's session did (not an API token's).
    pub approved_by_person: Option<String>,
    /// Their email, while the person exists.
    pub approved_by_email: Option<String>,
    pub scope: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub code_expires_at: Timestamp,
    pub redeemed_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A new grant and its code (hashed).
#[derive(Debug)]
pub struct NewGrant<'a> {
    pub id: &'a str,
    pub mcp_server_id: &'a str,
    pub client_id: &'a str,
    pub approved_by: &'a str,
    pub approved_by_person: Option<&'a str>,
    pub scope: &'a str,
    pub redirect_uri: &'a str,
    pub code_hash: &'a str,
    pub code_challenge: &'a str,
    pub code_expires_at: Timestamp,
    pub now: Timestamp,
}

/// A token to store (hashed).
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    pub hash: &'a str,
    pub kind: TokenUse,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    Access,
    Refresh,
}

impl TokenUse {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Refresh => "refresh",
        }
    }
}

/// What a valid access token opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub grant_id: String,
    pub mcp_server_id: String,
    pub client_id: String,
    pub client_name: String,
    /// The person who approved the client, and their email.
    pub person: Option<(String, String)>,
}

/// How taking a single-use secret (a code, a refresh token) went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// This caller won it; here is its grant.
    Won(Box<OAuthGrant>),
    /// It was used before (or is being used concurrently): a replay. Its grant id is given so
    /// the caller can revoke the family.
    Replayed(String),
    /// Unknown or expired.
    Missing,
}

#[derive(sqlx::FromRow)]
pub(super) struct ClientRow {
    id: String,
    name: String,
    redirect_uris: String,
    created_at: i64,
}

impl TryFrom<ClientRow> for OAuthClient {
    type Error = StoreError;

    fn try_from(r: ClientRow) -> Result<Self, StoreError> {
        Ok(OAuthClient {
            redirect_uris: serde_json::from_str(&r.redirect_uris).map_err(|_| {
                StoreError::Corrupt(format!("OAuth client {}: redirect URIs not valid", r.id))
            })?,
            id: r.id,
            name: r.name,
            created_at: Timestamp(r.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct GrantRow {
    id: String,
    mcp_server_id: String,
    client_id: String,
    client_name: String,
    approved_by: String,
    approved_by_person: Option<String>,
    approved_by_email: Option<String>,
    scope: String,
    redirect_uri: String,
    code_challenge: String,
    code_expires_at: i64,
    redeemed_at: Option<i64>,
    created_at: i64,
}

impl From<GrantRow> for OAuthGrant {
    fn from(r: GrantRow) -> Self {
        OAuthGrant {
            id: r.id,
            mcp_server_id: r.mcp_server_id,
            client_id: r.client_id,
            client_name: r.client_name,
            approved_by: r.approved_by,
            approved_by_person: r.approved_by_person,
            approved_by_email: r.approved_by_email,
            scope: r.scope,
            redirect_uri: r.redirect_uri,
            code_challenge: r.code_challenge,
            code_expires_at: Timestamp(r.code_expires_at),
            redeemed_at: r.redeemed_at.map(Timestamp),
            created_at: Timestamp(r.created_at),
        }
    }
}

/// The grant columns every grant query reads, with its client's name and its approver's
/// email (queries join `oauth_clients c` and left-join `people p`).
macro_rules! grant_columns {
    () => {
        "g.id, g.mcp_server_id, g.client_id, c.name AS client_name, g.approved_by,
         g.approved_by_person, p.email AS approved_by_email, g.scope,
         g.redirect_uri, g.code_challenge, g.code_expires_at, g.redeemed_at, g.created_at"
    };
}

macro_rules! oauth_grant_queries {
    ($store:ty, $db:ty) => {
        impl $store {
            pub async fn insert_oauth_client(
                &self,
                client: &$crate::store::oauth_grants::OAuthClient,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO oauth_clients (id, name, redirect_uris, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&client.id)
                .bind(&client.name)
                .bind(serde_json::to_string(&client.redirect_uris).expect("strings serialize"))
                .bind(client.created_at.millis())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            /// Inserts or refreshes a client whose id is its metadata document's URL.
            pub async fn upsert_oauth_client(
                &self,
                client: &$crate::store::oauth_grants::OAuthClient,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO oauth_clients (id, name, redirect_uris, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, redirect_uris = excluded.redirect_uris",
                )
                .bind(&client.id)
                .bind(&client.name)
                .bind(serde_json::to_string(&client.redirect_uris).expect("strings serialize"))
                .bind(client.created_at.millis())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            pub async fn mark_oauth_client_used(
                &self,
                id: &str,
                now: $crate::timestamp::Timestamp,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("UPDATE oauth_clients SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                    .bind(now.millis())
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            /// Clients registered before `cutoff` that never exchanged a code and hold no grant.
            pub async fn sweep_unused_oauth_clients(
                &self,
                cutoff: $crate::timestamp::Timestamp,
            ) -> Result<u64, $crate::store::StoreError> {
                let done = sqlx::query(
                    "DELETE FROM oauth_clients
                     WHERE used_at IS NULL AND created_at <= $1
                       AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_id = oauth_clients.id)",
                )
                .bind(cutoff.millis())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            pub async fn get_oauth_client(
                &self,
                id: &str,
            ) -> Result<Option<$crate::store::oauth_grants::OAuthClient>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::oauth_grants::ClientRow>(
                    "SELECT id, name, redirect_uris, created_at FROM oauth_clients WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            pub async fn insert_oauth_grant(
                &self,
                g: &$crate::store::oauth_grants::NewGrant<'_>,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO oauth_grants (id, mcp_server_id, client_id, approved_by, scope, redirect_uri,
                        code_hash, code_challenge, code_expires_at, created_at, approved_by_person)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(g.id)
                .bind(g.mcp_server_id)
                .bind(g.client_id)
                .bind(g.approved_by)
                .bind(g.scope)
                .bind(g.redirect_uri)
                .bind(g.code_hash)
                .bind(g.code_challenge)
                .bind(g.code_expires_at.millis())
                .bind(g.now.millis())
                .bind(g.approved_by_person)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            pub async fn take_oauth_code(
                &self,
                code_hash: &str,
                now: $crate::timestamp::Timestamp,
            ) -> Result<$crate::store::oauth_grants::Taken, $crate::store::StoreError> {
                self.take_once(
                    "UPDATE oauth_grants SET redeemed_at = $2
                     WHERE code_hash = $1 AND redeemed_at IS NULL AND code_expires_at > $2 RETURNING id",
                    "SELECT id FROM oauth_grants WHERE code_hash = $1 AND redeemed_at IS NOT NULL",
                    code_hash,
                    now,
                )
                .await
            }

            /// Redeems a single-use secret: `claim` marks it used if it is still unused and
            /// unexpired and returns its grant's id (one caller wins, whatever the replicas);
            /// otherwise `used` tells a replay (the grant's id) from an unknown or expired one.
            async fn take_once(
                &self,
                claim: &'static str,
                used: &'static str,
                hash: &str,
                now: $crate::timestamp::Timestamp,
            ) -> Result<$crate::store::oauth_grants::Taken, $crate::store::StoreError> {
                use $crate::store::oauth_grants::Taken;
                let won = sqlx::query_scalar::<$db, String>(claim)
                    .bind(hash)
                    .bind(now.millis())
                    .fetch_optional(&self.pool)
                    .await?;
                if let Some(id) = won {
                    return Ok(match self.get_oauth_grant(&id).await? {
                        Some(grant) => Taken::Won(Box::new(grant)),
                        None => Taken::Missing,
                    });
                }
                let used = sqlx::query_scalar::<$db, String>(used)
                    .bind(hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(used.map_or(Taken::Missing, Taken::Replayed))
            }

            pub async fn get_oauth_grant(
                &self,
                id: &str,
            ) -> Result<Option<$crate::store::oauth_grants::OAuthGrant>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, $crate::store::oauth_grants::GrantRow>(concat!(
                    "SELECT ", $crate::store::oauth_grants::grant_columns!(),
                    " FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id
                     LEFT JOIN people p ON p.id = g.approved_by_person WHERE g.id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(Into::into))
            }

            pub async fn list_oauth_grants(
                &self,
                mcp_server_id: &str,
            ) -> Result<Vec<$crate::store::oauth_grants::OAuthGrant>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, $crate::store::oauth_grants::GrantRow>(concat!(
                    "SELECT ", $crate::store::oauth_grants::grant_columns!(),
                    " FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id
                     LEFT JOIN people p ON p.id = g.approved_by_person
                     WHERE g.mcp_server_id = $1 AND g.redeemed_at IS NOT NULL ORDER BY g.id DESC"
                ))
                .bind(mcp_server_id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(Into::into)
                .collect())
            }

            pub async fn delete_oauth_grant(&self, id: &str) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query("DELETE FROM oauth_grants WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn insert_oauth_tokens(
                &self,
                grant_id: &str,
                tokens: &[$crate::store::oauth_grants::NewToken<'_>],
                now: $crate::timestamp::Timestamp,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                for t in tokens {
                    sqlx::query(
                        "INSERT INTO oauth_tokens (token_hash, grant_id, kind, expires_at, created_at)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(t.hash)
                    .bind(grant_id)
                    .bind(t.kind.as_str())
                    .bind(t.expires_at.millis())
                    .bind(now.millis())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub async fn find_oauth_access(
                &self,
                token_hash: &str,
                now: $crate::timestamp::Timestamp,
            ) -> Result<Option<$crate::store::oauth_grants::AccessGrant>, $crate::store::StoreError> {
                type Row = (String, String, String, String, Option<String>, Option<String>);
                let row = sqlx::query_as::<$db, Row>(
                    "SELECT g.id, g.mcp_server_id, c.id, c.name, p.id, p.email
                     FROM oauth_tokens t
                     JOIN oauth_grants g ON g.id = t.grant_id
                     JOIN oauth_clients c ON c.id = g.client_id
                     LEFT JOIN people p ON p.id = g.approved_by_person
                     WHERE t.token_hash = $1 AND t.kind = 'access' AND t.expires_at > $2",
                )
                .bind(token_hash)
                .bind(now.millis())
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(grant_id, mcp_server_id, client_id, client_name, person_id, email)| {
                    $crate::store::oauth_grants::AccessGrant {
                        grant_id,
                        mcp_server_id,
                        client_id,
                        client_name,
                        person: person_id.zip(email),
                    }
                }))
            }

            pub async fn take_oauth_refresh(
                &self,
                token_hash: &str,
                now: $crate::timestamp::Timestamp,
            ) -> Result<$crate::store::oauth_grants::Taken, $crate::store::StoreError> {
                self.take_once(
                    "UPDATE oauth_tokens SET used_at = $2
                     WHERE token_hash = $1 AND kind = 'refresh' AND used_at IS NULL AND expires_at > $2
                     RETURNING grant_id",
                    "SELECT grant_id FROM oauth_tokens
                     WHERE token_hash = $1 AND kind = 'refresh' AND used_at IS NOT NULL",
                    token_hash,
                    now,
                )
                .await
            }

            /// The grant and kind of any stored token (for revocation).
            pub async fn find_oauth_token(
                &self,
                token_hash: &str,
            ) -> Result<Option<(String, String)>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, (String, String)>(
                    "SELECT grant_id, kind FROM oauth_tokens WHERE token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?)
            }

            pub async fn delete_oauth_token(&self, token_hash: &str) -> Result<(), $crate::store::StoreError> {
                sqlx::query("DELETE FROM oauth_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            /// Removes expired tokens, codes never exchanged, and grants left with no token;
            /// returns how many grants went.
            pub async fn sweep_oauth_grants(
                &self,
                now: $crate::timestamp::Timestamp,
            ) -> Result<u64, $crate::store::StoreError> {
                sqlx::query("DELETE FROM oauth_tokens WHERE expires_at <= $1")
                    .bind(now.millis())
                    .execute(&self.pool)
                    .await?;
                let done = sqlx::query(
                    "DELETE FROM oauth_grants
                     WHERE (redeemed_at IS NULL AND code_expires_at <= $1)
                        OR (redeemed_at IS NOT NULL
                            AND NOT EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.grant_id = oauth_grants.id))",
                )
                .bind(now.millis())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use grant_columns;
pub(crate) use oauth_grant_queries;

impl Store {
    pub async fn insert_oauth_client(&self, client: &OAuthClient) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_oauth_client(client).await)
    }

    pub async fn upsert_oauth_client(&self, client: &OAuthClient) -> Result<(), StoreError> {
        on_backend!(self, s => s.upsert_oauth_client(client).await)
    }

    /// Records a client's first code exchange (a used client is never swept).
    pub async fn mark_oauth_client_used(&self, id: &str, now: Timestamp) -> Result<(), StoreError> {
        on_backend!(self, s => s.mark_oauth_client_used(id, now).await)
    }

    pub async fn sweep_unused_oauth_clients(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        on_backend!(self, s => s.sweep_unused_oauth_clients(cutoff).await)
    }

    pub async fn get_oauth_client(&self, id: &str) -> Result<Option<OAuthClient>, StoreError> {
        on_backend!(self, s => s.get_oauth_client(id).await)
    }

    pub async fn insert_oauth_grant(&self, grant: &NewGrant<'_>) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_oauth_grant(grant).await)
    }

    /// Exchanges a code at most once, and only before it expires.
    pub async fn take_oauth_code(
        &self,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<Taken, StoreError> {
        on_backend!(self, s => s.take_oauth_code(code_hash, now).await)
    }

    pub async fn get_oauth_grant(&self, id: &str) -> Result<Option<OAuthGrant>, StoreError> {
        on_backend!(self, s => s.get_oauth_grant(id).await)
    }

    /// The grants of a server whose code was exchanged, newest first.
    pub async fn list_oauth_grants(
        &self,
        mcp_server_id: &str,
    ) -> Result<Vec<OAuthGrant>, StoreError> {
        on_backend!(self, s => s.list_oauth_grants(mcp_server_id).await)
    }

    /// Revokes a grant and every token issued under it.
    pub async fn delete_oauth_grant(&self, id: &str) -> Result<bool, StoreError> {
        on_backend!(self, s => s.delete_oauth_grant(id).await)
    }

    pub async fn insert_oauth_tokens(
        &self,
        grant_id: &str,
        tokens: &[NewToken<'_>],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_oauth_tokens(grant_id, tokens, now).await)
    }

    /// The grant behind a live access token.
    pub async fn find_oauth_access(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<AccessGrant>, StoreError> {
        on_backend!(self, s => s.find_oauth_access(token_hash, now).await)
    }

    /// Uses a refresh token at most once, and only before it expires.
    pub async fn take_oauth_refresh(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Taken, StoreError> {
        on_backend!(self, s => s.take_oauth_refresh(token_hash, now).await)
    }

    pub async fn find_oauth_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        on_backend!(self, s => s.find_oauth_token(token_hash).await)
    }

    pub async fn delete_oauth_token(&self, token_hash: &str) -> Result<(), StoreError> {
        on_backend!(self, s => s.delete_oauth_token(token_hash).await)
    }

    pub async fn sweep_oauth_grants(&self, now: Timestamp) -> Result<u64, StoreError> {
        on_backend!(self, s => s.sweep_oauth_grants(now).await)
    }
}
