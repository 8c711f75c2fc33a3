//! What the store keeps of people (see `crate::people`): the people themselves (their password
//! as an argon2id PHC string only), the servers shared with them, and the grants they
//! approved. Written once for both backends, like `queries.rs`.

use super::oauth_grants::OAuthGrant;
use super::{Store, StoreError};
use crate::people::{Person, Role};
use crate::timestamp::Timestamp;

#[derive(sqlx::FromRow)]
pub(super) struct PersonRow {
    id: String,
    email: String,
    name: String,
    role: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<PersonRow> for Person {
    type Error = StoreError;

    fn try_from(r: PersonRow) -> Result<Self, StoreError> {
        Ok(Person {
            role: Role::parse(&r.role)
                .ok_or_else(|| StoreError::Corrupt(format!("person {}: unknown role", r.id)))?,
            id: r.id,
            email: r.email,
            name: r.name,
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
        })
    }
}

macro_rules! people_queries {
    ($store:ty, $db:ty) => {
        impl $store {
            pub async fn insert_person(
                &self,
                p: &$crate::people::Person,
                password_hash: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO people (id, email, name, role, password_hash, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email) DO NOTHING",
                )
                .bind(&p.id)
                .bind(&p.email)
                .bind(&p.name)
                .bind(p.role.as_str())
                .bind(password_hash)
                .bind(p.created_at.millis())
                .bind(p.updated_at.millis())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn find_person_login(
                &self,
                email: &str,
            ) -> Result<Option<($crate::people::Person, String)>, $crate::store::StoreError> {
                let row = sqlx::query_as::<$db, (String,)>(
                    "SELECT password_hash FROM people WHERE email = $1",
                )
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
                let Some((hash,)) = row else { return Ok(None) };
                let person = sqlx::query_as::<$db, $crate::store::people::PersonRow>(
                    "SELECT id, email, name, role, created_at, updated_at FROM people WHERE email = $1",
                )
                .bind(email)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()?;
                Ok(person.map(|p| (p, hash)))
            }

            pub async fn get_person(
                &self,
                id: &str,
            ) -> Result<Option<$crate::people::Person>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::people::PersonRow>(
                    "SELECT id, email, name, role, created_at, updated_at FROM people WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            pub async fn list_people(
                &self,
            ) -> Result<Vec<$crate::people::Person>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::people::PersonRow>(
                    "SELECT id, email, name, role, created_at, updated_at FROM people ORDER BY email",
                )
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            pub async fn delete_person(&self, id: &str) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query("DELETE FROM people WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            /// Replaces a person's password and signs out their sessions, in one transaction.
            pub async fn set_person_password(
                &self,
                id: &str,
                password_hash: &str,
                now: $crate::timestamp::Timestamp,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE people SET password_hash = $2, updated_at = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(password_hash)
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM console_sessions WHERE person_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn share_server(
                &self,
                mcp_server_id: &str,
                person_id: &str,
                now: $crate::timestamp::Timestamp,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO server_shares (mcp_server_id, person_id, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (mcp_server_id, person_id) DO NOTHING",
                )
                .bind(mcp_server_id)
                .bind(person_id)
                .bind(now.millis())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            /// Stops sharing a server with a person, and revokes the grants they approved on it
            /// (in one transaction); returns whether it was shared.
            pub async fn unshare_server(
                &self,
                mcp_server_id: &str,
                person_id: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "DELETE FROM server_shares WHERE mcp_server_id = $1 AND person_id = $2",
                )
                .bind(mcp_server_id)
                .bind(person_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "DELETE FROM oauth_grants WHERE mcp_server_id = $1 AND approved_by_person = $2",
                )
                .bind(mcp_server_id)
                .bind(person_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            /// The people a server is shared with.
            pub async fn server_shares(
                &self,
                mcp_server_id: &str,
            ) -> Result<Vec<$crate::people::Person>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::people::PersonRow>(
                    "SELECT p.id, p.email, p.name, p.role, p.created_at, p.updated_at
                     FROM server_shares s JOIN people p ON p.id = s.person_id
                     WHERE s.mcp_server_id = $1 ORDER BY p.email",
                )
                .bind(mcp_server_id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            /// The ids of the servers shared with a person.
            pub async fn shared_server_ids(
                &self,
                person_id: &str,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                Ok(sqlx::query_scalar::<$db, String>(
                    "SELECT mcp_server_id FROM server_shares WHERE person_id = $1 ORDER BY mcp_server_id",
                )
                .bind(person_id)
                .fetch_all(&self.pool)
                .await?)
            }

            pub async fn is_shared(
                &self,
                mcp_server_id: &str,
                person_id: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                Ok(sqlx::query_scalar::<$db, String>(
                    "SELECT person_id FROM server_shares WHERE mcp_server_id = $1 AND person_id = $2",
                )
                .bind(mcp_server_id)
                .bind(person_id)
                .fetch_optional(&self.pool)
                .await?
                .is_some())
            }

            /// The grants a person approved (whose code was exchanged), newest first.
            pub async fn list_person_grants(
                &self,
                person_id: &str,
            ) -> Result<Vec<$crate::store::oauth_grants::OAuthGrant>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, $crate::store::oauth_grants::GrantRow>(concat!(
                    "SELECT ", $crate::store::oauth_grants::grant_columns!(),
                    " FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id
                     LEFT JOIN people p ON p.id = g.approved_by_person
                     WHERE g.approved_by_person = $1 AND g.redeemed_at IS NOT NULL ORDER BY g.id DESC"
                ))
                .bind(person_id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(Into::into)
                .collect())
            }
        }
    };
}

pub(crate) use people_queries;

impl Store {
    /// Adds a person; `false` when the email is taken.
    pub async fn insert_person(
        &self,
        person: &Person,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        on_backend!(self, s => s.insert_person(person, password_hash).await)
    }

    /// A person and their password hash, by (lowercased) email.
    pub async fn find_person_login(
        &self,
        email: &str,
    ) -> Result<Option<(Person, String)>, StoreError> {
        on_backend!(self, s => s.find_person_login(email).await)
    }

    pub async fn get_person(&self, id: &str) -> Result<Option<Person>, StoreError> {
        on_backend!(self, s => s.get_person(id).await)
    }

    pub async fn list_people(&self) -> Result<Vec<Person>, StoreError> {
        on_backend!(self, s => s.list_people().await)
    }

    /// Deletes a person; their sessions, shares and grants go with them.
    pub async fn delete_person(&self, id: &str) -> Result<bool, StoreError> {
        on_backend!(self, s => s.delete_person(id).await)
    }

    pub async fn set_person_password(
        &self,
        id: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        on_backend!(self, s => s.set_person_password(id, password_hash, now).await)
    }

    pub async fn share_server(
        &self,
        mcp_server_id: &str,
        person_id: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.share_server(mcp_server_id, person_id, now).await)
    }

    pub async fn unshare_server(
        &self,
        mcp_server_id: &str,
        person_id: &str,
    ) -> Result<bool, StoreError> {
        on_backend!(self, s => s.unshare_server(mcp_server_id, person_id).await)
    }

    pub async fn server_shares(&self, mcp_server_id: &str) -> Result<Vec<Person>, StoreError> {
        on_backend!(self, s => s.server_shares(mcp_server_id).await)
    }

    pub async fn shared_server_ids(&self, person_id: &str) -> Result<Vec<String>, StoreError> {
        on_backend!(self, s => s.shared_server_ids(person_id).await)
    }

    pub async fn is_shared(
        &self,
        mcp_server_id: &str,
        person_id: &str,
    ) -> Result<bool, StoreError> {
        on_backend!(self, s => s.is_shared(mcp_server_id, person_id).await)
    }

    pub async fn list_person_grants(&self, person_id: &str) -> Result<Vec<OAuthGrant>, StoreError> {
        on_backend!(self, s => s.list_person_grants(person_id).await)
    }
}
