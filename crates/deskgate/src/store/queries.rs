//! The portable SQL, written once. `portable_queries!(Store, Db)` implements every query for a
//! backend struct holding `pool: sqlx::Pool<Db>`. A macro rather than generic functions because
//! sqlx's per-type `Encode`/`Decode` bounds for a generic `Database` would outweigh the queries.

/// The audit log's columns, in the order every insert of a record binds them.
macro_rules! tool_call_columns {
    () => {
        "id, mcp_server_id, integrated_account_id, at, tool, client_name, client_version,
         upstream_method, upstream_path, upstream_status, duration_ms, outcome, error,
         policy_decision, policy_rule, person_id, person_email, oauth_client_id,
         ratelimit_limit, ratelimit_remaining"
    };
}

/// What writing a record again changes: a write's completion lands on its intent's row.
macro_rules! tool_call_upsert {
    () => {
        " ON CONFLICT (id) DO UPDATE SET
            upstream_method = excluded.upstream_method, upstream_path = excluded.upstream_path,
            upstream_status = excluded.upstream_status, duration_ms = excluded.duration_ms,
            outcome = excluded.outcome, error = excluded.error,
            policy_decision = excluded.policy_decision, policy_rule = excluded.policy_rule,
            ratelimit_limit = excluded.ratelimit_limit,
            ratelimit_remaining = excluded.ratelimit_remaining"
    };
}

macro_rules! portable_queries {
    ($store:ty, $db:ty) => {
        impl $store {
            pub async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            pub async fn insert_api_token(
                &self,
                token: &$crate::store::ApiToken,
                hash: &$crate::tokens::TokenHash,
            ) -> Result<(), $crate::store::StoreError> {
                Self::insert_api_token_on(&self.pool, token, hash).await?;
                Ok(())
            }

            async fn insert_api_token_on<'e>(
                executor: impl sqlx::Executor<'e, Database = $db>,
                token: &$crate::store::ApiToken,
                hash: &$crate::tokens::TokenHash,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO api_tokens (id, name, token_hash, created_at, scope, mcp_server_ids,
                        integrated_account_ids, bootstrap)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (token_hash) DO NOTHING",
                )
                .bind(&token.id)
                .bind(&token.name)
                .bind(&hash.0)
                .bind(token.created_at.millis())
                .bind(token.scope.as_str())
                .bind($crate::store::id_list(&token.mcp_server_ids))
                .bind($crate::store::id_list(&token.integrated_account_ids))
                .bind(token.bootstrap)
                .execute(executor)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn sync_bootstrap_token(
                &self,
                token: Option<(&$crate::store::ApiToken, &$crate::tokens::TokenHash)>,
            ) -> Result<(bool, u64), $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let inserted = match token {
                    Some((token, hash)) => Self::insert_api_token_on(&mut *tx, token, hash).await?,
                    None => false,
                };
                let retired = sqlx::query(
                    "DELETE FROM api_tokens WHERE bootstrap AND ($1 IS NULL OR token_hash <> $1)",
                )
                .bind(token.map(|(_, hash)| hash.0.as_str()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok((inserted, retired))
            }

            pub async fn find_api_token(
                &self,
                hash: &$crate::tokens::TokenHash,
            ) -> Result<Option<$crate::store::ApiToken>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::ApiTokenRow>(
                    "SELECT id, name, scope, mcp_server_ids, integrated_account_ids, bootstrap, created_at
                     FROM api_tokens WHERE token_hash = $1",
                )
                .bind(&hash.0)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            pub async fn list_api_tokens(&self) -> Result<Vec<$crate::store::ApiToken>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::ApiTokenRow>(
                    "SELECT id, name, scope, mcp_server_ids, integrated_account_ids, bootstrap, created_at
                     FROM api_tokens ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            pub async fn delete_api_token(&self, id: &str) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn insert_account(
                &self,
                stored: &$crate::accounts::StoredAccount,
            ) -> Result<(), $crate::store::StoreError> {
                let a = &stored.account;
                let context = serde_json::to_string(&a.context).expect("account context serializes");
                sqlx::query(
                    "INSERT INTO integrated_accounts (id, integration, name, status, auth_type, context,
                        credentials, credentials_version, access_token_expires_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&a.id)
                .bind(&a.integration)
                .bind(&a.name)
                .bind(a.status.as_str())
                .bind(a.auth_type.as_str())
                .bind(context)
                .bind(&stored.sealed_credentials)
                .bind(a.credentials_version)
                .bind(a.access_token_expires_at.map(|t| t.millis()))
                .bind(a.created_at.millis())
                .bind(a.updated_at.millis())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            pub async fn get_account(
                &self,
                id: &str,
            ) -> Result<Option<$crate::accounts::StoredAccount>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::AccountRow>("SELECT * FROM integrated_accounts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            pub async fn list_accounts(
                &self,
                before_id: Option<&str>,
                limit: u32,
            ) -> Result<Vec<$crate::accounts::StoredAccount>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::AccountRow>(
                    "SELECT * FROM integrated_accounts WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
                )
                .bind(before_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            pub async fn rename_account(
                &self,
                id: &str,
                name: &str,
                now: $crate::timestamp::Timestamp,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query("UPDATE integrated_accounts SET name = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(name)
                    .bind(now.millis())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn set_rate_limit_reserve(
                &self,
                id: &str,
                reserve: Option<u32>,
                now: $crate::timestamp::Timestamp,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "UPDATE integrated_accounts SET rate_limit_reserve = $2, updated_at = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(reserve.map(i64::from))
                .bind(now.millis())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn set_account_status(
                &self,
                id: &str,
                status: $crate::accounts::AccountStatus,
                now: $crate::timestamp::Timestamp,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "UPDATE integrated_accounts SET status = $2, updated_at = $3 WHERE id = $1 AND status <> $2",
                )
                .bind(id)
                .bind(status.as_str())
                .bind(now.millis())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn replace_credentials(
                &self,
                u: &$crate::store::CredentialsUpdate<'_>,
            ) -> Result<bool, $crate::store::StoreError> {
                let context = serde_json::to_string(u.context).expect("account context serializes");
                let done = sqlx::query(
                    "UPDATE integrated_accounts
                     SET credentials = $3, credentials_version = credentials_version + 1, auth_type = $4,
                         context = $5, status = $6, access_token_expires_at = $7, updated_at = $8
                     WHERE id = $1 AND credentials_version = $2",
                )
                .bind(u.account_id)
                .bind(u.expected_version)
                .bind(u.sealed_credentials)
                .bind(u.auth_type.as_str())
                .bind(context)
                .bind(u.status.as_str())
                .bind(u.access_token_expires_at.map(|t| t.millis()))
                .bind(u.now.millis())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn delete_account(&self, id: &str) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query("DELETE FROM integrated_accounts WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn sealed_row_count(&self) -> Result<i64, $crate::store::StoreError> {
                Ok(sqlx::query_scalar::<$db, i64>(
                    "SELECT (SELECT COUNT(*) FROM integrated_accounts) + (SELECT COUNT(*) FROM oauth_apps)
                        + (SELECT COUNT(*) FROM pending_actions) + (SELECT COUNT(*) FROM mcp_server_webhooks)",
                )
                .fetch_one(&self.pool)
                .await?)
            }

            pub async fn mcp_server_counts(&self) -> Result<Vec<(String, i64)>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, (String, i64)>(
                    "SELECT integrated_account_id, COUNT(*) FROM mcp_servers GROUP BY integrated_account_id",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            pub async fn insert_mcp_server(
                &self,
                s: &$crate::mcp_servers::McpServer,
                token: &$crate::tokens::TokenHash,
            ) -> Result<(), $crate::store::StoreError> {
                let config = serde_json::to_string(&s.config).expect("server config serializes");
                sqlx::query(
                    "INSERT INTO mcp_servers (id, integrated_account_id, name, config, require_api_token_auth,
                        expires_at, token_hash, created_at, updated_at, auth_mode)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&s.id)
                .bind(&s.integrated_account_id)
                .bind(&s.name)
                .bind(config)
                .bind(s.require_api_token_auth)
                .bind(s.expires_at.map(|t| t.millis()))
                .bind(&token.0)
                .bind(s.created_at.millis())
                .bind(s.updated_at.millis())
                .bind(s.auth.as_str())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            pub async fn get_mcp_server(
                &self,
                account_id: &str,
                id: &str,
            ) -> Result<Option<$crate::mcp_servers::McpServer>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::McpServerRow>(
                    "SELECT * FROM mcp_servers WHERE integrated_account_id = $1 AND id = $2",
                )
                .bind(account_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            pub async fn list_mcp_servers(
                &self,
                account_id: &str,
            ) -> Result<Vec<$crate::mcp_servers::McpServer>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::McpServerRow>(
                    "SELECT * FROM mcp_servers WHERE integrated_account_id = $1 ORDER BY id DESC",
                )
                .bind(account_id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            pub async fn update_mcp_server(
                &self,
                s: &$crate::mcp_servers::McpServer,
            ) -> Result<bool, $crate::store::StoreError> {
                let config = serde_json::to_string(&s.config).expect("server config serializes");
                let done = sqlx::query(
                    "UPDATE mcp_servers SET name = $3, config = $4, require_api_token_auth = $5, expires_at = $6,
                        updated_at = $7
                     WHERE integrated_account_id = $1 AND id = $2",
                )
                .bind(&s.integrated_account_id)
                .bind(&s.id)
                .bind(&s.name)
                .bind(config)
                .bind(s.require_api_token_auth)
                .bind(s.expires_at.map(|t| t.millis()))
                .bind(s.updated_at.millis())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn delete_mcp_server(&self, account_id: &str, id: &str) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query("DELETE FROM mcp_servers WHERE integrated_account_id = $1 AND id = $2")
                    .bind(account_id)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn find_mcp_server(
                &self,
                id: &str,
            ) -> Result<Option<$crate::mcp_servers::McpServer>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::McpServerRow>("SELECT * FROM mcp_servers WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            pub async fn find_mcp_servers(
                &self,
                ids: &[String],
            ) -> Result<Vec<$crate::mcp_servers::McpServer>, $crate::store::StoreError> {
                let mut found = Vec::new();
                // Well under either backend's limit on bound parameters.
                for chunk in ids.chunks(500) {
                    let mut query = sqlx::QueryBuilder::<$db>::new("SELECT * FROM mcp_servers WHERE id IN (");
                    let mut list = query.separated(", ");
                    for id in chunk {
                        list.push_bind(id);
                    }
                    list.push_unseparated(")");
                    // Not kept prepared: every list length is its own statement text.
                    for row in query
                        .build_query_as::<$crate::store::McpServerRow>()
                        .persistent(false)
                        .fetch_all(&self.pool)
                        .await?
                    {
                        found.push(row.try_into()?);
                    }
                }
                Ok(found)
            }

            pub async fn find_mcp_server_by_token(
                &self,
                token: &$crate::tokens::TokenHash,
            ) -> Result<Option<$crate::mcp_servers::McpServer>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::McpServerRow>("SELECT * FROM mcp_servers WHERE token_hash = $1")
                    .bind(&token.0)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            pub async fn delete_expired_mcp_servers(
                &self,
                now: $crate::timestamp::Timestamp,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                let ids = sqlx::query_as::<$db, (String,)>(
                    "DELETE FROM mcp_servers WHERE expires_at IS NOT NULL AND expires_at <= $1 RETURNING id",
                )
                .bind(now.millis())
                .fetch_all(&self.pool)
                .await?;
                Ok(ids.into_iter().map(|(id,)| id).collect())
            }

            pub async fn list_tool_calls(
                &self,
                account_id: &str,
                q: &$crate::audit::ToolCallQuery,
            ) -> Result<Vec<$crate::audit::ToolCallRecord>, $crate::store::StoreError> {
                sqlx::query_as::<$db, $crate::store::ToolCallRow>(
                    "SELECT * FROM tool_calls
                     WHERE integrated_account_id = $1
                       AND ($2 IS NULL OR mcp_server_id = $2)
                       AND ($3 IS NULL OR tool = $3)
                       AND ($4 IS NULL OR outcome = $4)
                       AND ($5 IS NULL OR id < $5)
                       AND ($7 IS NULL OR LOWER(tool) LIKE $7 ESCAPE '!')
                       AND ($8 IS NULL OR at >= $8)
                       AND ($9 IS NULL OR at < $9)
                       AND ($10 IS NULL OR policy_decision = $10)
                       AND ($11 IS NULL OR person_id = $11)
                     ORDER BY id DESC LIMIT $6",
                )
                .bind(account_id)
                .bind(&q.mcp_server_id)
                .bind(&q.tool)
                .bind(q.outcome.map(|o| o.as_str()))
                .bind(&q.before_id)
                .bind(i64::from(q.limit))
                .bind(q.tool_contains.as_ref().map(|t| {
                    // A pattern that matches the text as written: LIKE's own characters escaped.
                    let escaped = t
                        .to_lowercase()
                        .replace('!', "!!")
                        .replace('%', "!%")
                        .replace('_', "!_");
                    format!("%{escaped}%")
                }))
                .bind(q.since.map(|t| t.millis()))
                .bind(q.until.map(|t| t.millis()))
                .bind(q.policy_decision.map(|d| d.as_str()))
                .bind(&q.person_id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            }

            pub async fn insert_pending_action(
                &self,
                a: &$crate::approvals::PendingActionRow,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO pending_actions (id, mcp_server_id, integrated_account_id, tool,
                        sealed_arguments, policy_rule, status, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)",
                )
                .bind(&a.id)
                .bind(&a.mcp_server_id)
                .bind(&a.integrated_account_id)
                .bind(&a.tool)
                .bind(&a.sealed_arguments)
                .bind(&a.policy_rule)
                .bind(a.created_at)
                .bind(a.expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            pub async fn list_pending_actions(
                &self,
                account_id: &str,
                limit: i64,
            ) -> Result<Vec<$crate::approvals::PendingActionRow>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, $crate::approvals::PendingActionRow>(
                    "SELECT * FROM pending_actions WHERE integrated_account_id = $1
                     ORDER BY id DESC LIMIT $2",
                )
                .bind(account_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            pub async fn get_pending_action(
                &self,
                account_id: &str,
                id: &str,
            ) -> Result<Option<$crate::approvals::PendingActionRow>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, $crate::approvals::PendingActionRow>(
                    "SELECT * FROM pending_actions WHERE integrated_account_id = $1 AND id = $2",
                )
                .bind(account_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            /// Takes the decision on a pending, unexpired action; `false` when it was already
            /// decided (here or on another replica) or has expired.
            pub async fn decide_pending_action(
                &self,
                id: &str,
                status: &str,
                decided_by: &str,
                reason: Option<&str>,
                now: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "UPDATE pending_actions SET status = $2, decided_by = $3, reason = $4, decided_at = $5
                     WHERE id = $1 AND status = 'pending' AND expires_at > $5",
                )
                .bind(id)
                .bind(status)
                .bind(decided_by)
                .bind(reason)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            /// Marks pending actions past their expiry as expired; returns how many.
            pub async fn expire_pending_actions(
                &self,
                now: i64,
            ) -> Result<u64, $crate::store::StoreError> {
                Ok(sqlx::query(
                    "UPDATE pending_actions SET status = 'expired', decided_at = $1
                     WHERE status = 'pending' AND expires_at <= $1",
                )
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected())
            }

            pub async fn set_pending_action_result(
                &self,
                id: &str,
                outcome: &str,
                text: &str,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("UPDATE pending_actions SET result_outcome = $2, result_text = $3 WHERE id = $1")
                    .bind(id)
                    .bind(outcome)
                    .bind(text)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            pub async fn set_pending_action_arguments(
                &self,
                id: &str,
                sealed: &[u8],
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("UPDATE pending_actions SET sealed_arguments = $2 WHERE id = $1")
                    .bind(id)
                    .bind(sealed)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            /// Actions still waiting for a decision (not yet past their expiry).
            pub async fn count_pending_actions(
                &self,
                account_id: &str,
                now: i64,
            ) -> Result<i64, $crate::store::StoreError> {
                Ok(sqlx::query_scalar::<$db, i64>(
                    "SELECT COUNT(*) FROM pending_actions
                     WHERE integrated_account_id = $1 AND status = 'pending' AND expires_at > $2",
                )
                .bind(account_id)
                .bind(now)
                .fetch_one(&self.pool)
                .await?)
            }

            /// Every held action's id, status and sealed arguments, by id, after `after`.
            pub async fn list_sealed_actions(
                &self,
                after: Option<&str>,
                limit: i64,
            ) -> Result<Vec<(String, String, Vec<u8>)>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, (String, String, Vec<u8>)>(
                    "SELECT id, status, sealed_arguments FROM pending_actions
                     WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            pub async fn insert_webhook(
                &self,
                w: &$crate::webhooks::WebhookRow,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO mcp_server_webhooks (mcp_server_id, url, sealed_secret, created_at, secret_rotated_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&w.mcp_server_id)
                .bind(&w.url)
                .bind(&w.sealed_secret)
                .bind(w.created_at)
                .bind(w.secret_rotated_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            pub async fn get_webhook(
                &self,
                server_id: &str,
            ) -> Result<Option<$crate::webhooks::WebhookRow>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, $crate::webhooks::WebhookRow>(
                    "SELECT * FROM mcp_server_webhooks WHERE mcp_server_id = $1",
                )
                .bind(server_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            pub async fn list_webhooks(
                &self,
            ) -> Result<Vec<$crate::webhooks::WebhookRow>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, $crate::webhooks::WebhookRow>(
                    "SELECT * FROM mcp_server_webhooks ORDER BY mcp_server_id",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            pub async fn set_webhook_url(
                &self,
                server_id: &str,
                url: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query("UPDATE mcp_server_webhooks SET url = $2 WHERE mcp_server_id = $1")
                    .bind(server_id)
                    .bind(url)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn set_webhook_secret(
                &self,
                server_id: &str,
                sealed_secret: &[u8],
                now: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "UPDATE mcp_server_webhooks SET sealed_secret = $2, secret_rotated_at = $3 WHERE mcp_server_id = $1",
                )
                .bind(server_id)
                .bind(sealed_secret)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn delete_webhook(&self, server_id: &str) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query("DELETE FROM mcp_server_webhooks WHERE mcp_server_id = $1")
                    .bind(server_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn record_webhook_delivery(
                &self,
                server_id: &str,
                at: i64,
                result: &str,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "UPDATE mcp_server_webhooks SET last_delivery_at = $2, last_delivery_result = $3 WHERE mcp_server_id = $1",
                )
                .bind(server_id)
                .bind(at)
                .bind(result)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            /// Counts one more use of a budget window and returns the count with it.
            pub async fn spend_budget(
                &self,
                server_id: &str,
                kind: &str,
                window_start: i64,
            ) -> Result<i64, $crate::store::StoreError> {
                let (used,): (i64,) = sqlx::query_as(
                    "INSERT INTO budget_windows (mcp_server_id, kind, window_start, used)
                     VALUES ($1, $2, $3, 1)
                     ON CONFLICT (mcp_server_id, kind, window_start)
                     DO UPDATE SET used = budget_windows.used + 1
                     RETURNING used",
                )
                .bind(server_id)
                .bind(kind)
                .bind(window_start)
                .fetch_one(&self.pool)
                .await?;
                Ok(used)
            }

            /// Forgets budget windows that started before `before`.
            pub async fn delete_budget_windows_before(
                &self,
                before: i64,
            ) -> Result<u64, $crate::store::StoreError> {
                Ok(sqlx::query("DELETE FROM budget_windows WHERE window_start < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            /// Deletes records older than `before`; returns how many.
            pub async fn delete_tool_calls_before(
                &self,
                before: $crate::timestamp::Timestamp,
            ) -> Result<u64, $crate::store::StoreError> {
                Ok(sqlx::query("DELETE FROM tool_calls WHERE at < $1")
                    .bind(before.millis())
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            pub async fn tool_call_counts_since(
                &self,
                account_id: &str,
                since: $crate::timestamp::Timestamp,
            ) -> Result<Vec<(String, i64)>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, (String, i64)>(
                    "SELECT mcp_server_id, COUNT(*) FROM tool_calls
                     WHERE integrated_account_id = $1 AND at >= $2 GROUP BY mcp_server_id",
                )
                .bind(account_id)
                .bind(since.millis())
                .fetch_all(&self.pool)
                .await?)
            }

            pub async fn upsert_oauth_app(
                &self,
                app: &$crate::store::OAuthAppRow,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO oauth_apps (integration, client_id, client_secret, redirect_url, updated_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (integration) DO UPDATE SET client_id = $2, client_secret = $3, redirect_url = $4,
                        updated_at = $5",
                )
                .bind(&app.integration)
                .bind(&app.client_id)
                .bind(&app.client_secret)
                .bind(&app.redirect_url)
                .bind(app.updated_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            pub async fn get_oauth_app(
                &self,
                integration: &str,
            ) -> Result<Option<$crate::store::OAuthAppRow>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, $crate::store::OAuthAppRow>(
                    "SELECT integration, client_id, client_secret, redirect_url, updated_at FROM oauth_apps
                     WHERE integration = $1",
                )
                .bind(integration)
                .fetch_optional(&self.pool)
                .await?)
            }

            pub async fn insert_oauth_state(
                &self,
                state: &$crate::store::OAuthStateRow,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO oauth_states (state_hash, binding_hash, integration, subdomain, api_base_url,
                        code_verifier, account_id, expires_at, scope)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&state.state_hash)
                .bind(&state.binding_hash)
                .bind(&state.integration)
                .bind(&state.subdomain)
                .bind(&state.api_base_url)
                .bind(&state.code_verifier)
                .bind(&state.account_id)
                .bind(state.expires_at)
                .bind(&state.scope)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            /// Removes and returns a state: a state is good for one callback only.
            pub async fn take_oauth_state(
                &self,
                state_hash: &str,
            ) -> Result<Option<$crate::store::OAuthStateRow>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, $crate::store::OAuthStateRow>(
                    "DELETE FROM oauth_states WHERE state_hash = $1
                     RETURNING state_hash, binding_hash, integration, subdomain, api_base_url, code_verifier,
                        account_id, expires_at, scope",
                )
                .bind(state_hash)
                .fetch_optional(&self.pool)
                .await?)
            }

            pub async fn delete_expired_oauth_states(
                &self,
                now: $crate::timestamp::Timestamp,
            ) -> Result<u64, $crate::store::StoreError> {
                let done = sqlx::query("DELETE FROM oauth_states WHERE expires_at <= $1")
                    .bind(now.millis())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            /// Takes the account's refresh lease when nobody holds a live one; returns whether
            /// this caller got it.
            pub async fn acquire_refresh_lease(
                &self,
                account_id: &str,
                now: $crate::timestamp::Timestamp,
                until: $crate::timestamp::Timestamp,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "UPDATE integrated_accounts SET refresh_lease_until = $3
                     WHERE id = $1 AND (refresh_lease_until IS NULL OR refresh_lease_until <= $2)",
                )
                .bind(account_id)
                .bind(now.millis())
                .bind(until.millis())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn release_refresh_lease(
                &self,
                account_id: &str,
                until: $crate::timestamp::Timestamp,
            ) -> Result<(), $crate::store::StoreError> {
                // Only our own lease: one that outlived its term may have been taken over, and
                // releasing the new holder's would let a third refresh run alongside it.
                sqlx::query(
                    "UPDATE integrated_accounts SET refresh_lease_until = NULL
                     WHERE id = $1 AND refresh_lease_until = $2",
                )
                .bind(account_id)
                .bind(until.millis())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            /// OAuth accounts whose access token expires before `before` (for refreshing ahead).
            pub async fn oauth_accounts_expiring(
                &self,
                before: $crate::timestamp::Timestamp,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                let ids = sqlx::query_as::<$db, (String,)>(
                    "SELECT id FROM integrated_accounts
                     WHERE auth_type = 'oauth2' AND status = 'active' AND access_token_expires_at IS NOT NULL
                       AND access_token_expires_at <= $1",
                )
                .bind(before.millis())
                .fetch_all(&self.pool)
                .await?;
                Ok(ids.into_iter().map(|(id,)| id).collect())
            }

            pub async fn insert_console_session(
                &self,
                session: &$crate::store::ConsoleSessionRow,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO console_sessions (id_hash, api_token_id, person_id, csrf_token, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&session.id_hash)
                .bind(&session.api_token_id)
                .bind(&session.person_id)
                .bind(&session.csrf_token)
                .bind(session.created_at)
                .bind(session.expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            /// A live session (not expired, its API token not revoked, its person not deleted).
            pub async fn find_console_session(
                &self,
                id_hash: &str,
                now: $crate::timestamp::Timestamp,
            ) -> Result<Option<$crate::store::ConsoleSessionRow>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, $crate::store::ConsoleSessionRow>(
                    "SELECT id_hash, api_token_id, person_id, csrf_token, created_at, expires_at FROM console_sessions
                     WHERE id_hash = $1 AND expires_at > $2",
                )
                .bind(id_hash)
                .bind(now.millis())
                .fetch_optional(&self.pool)
                .await?)
            }

            pub async fn delete_console_session(&self, id_hash: &str) -> Result<(), $crate::store::StoreError> {
                sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            pub async fn delete_expired_console_sessions(
                &self,
                now: $crate::timestamp::Timestamp,
            ) -> Result<u64, $crate::store::StoreError> {
                let done = sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                    .bind(now.millis())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use portable_queries;
pub(crate) use tool_call_columns;
pub(crate) use tool_call_upsert;
