//! People: console users who sign in with an email address and a password, each with a role.
//!
//! - `admin`: everything, as an admin API token.
//! - `agent`: sees only the MCP servers an admin shared with them (`server_shares`), lets OAuth
//!   clients into those, and lists and revokes the grants they approved. Nothing else.
//!
//! Passwords are hashed with argon2id (the `argon2` crate's defaults, OWASP's minimum: 19 MiB,
//! 2 passes) into a PHC string, which carries its own salt and parameters. Hashing runs on the
//! blocking pool, never on a request's task. A sign-in for an unknown address verifies against
//! a fixed hash anyway, so the answer takes as long as for a known one.
//!
//! API tokens stay for automation; a person is the one who signs in to the console.

use std::net::IpAddr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};

use crate::app::App;
use crate::error::ApiError;
use crate::store::StoreError;
use crate::timestamp::Timestamp;

/// Shortest password accepted (NIST SP 800-63B asks for at least 8; people here hold helpdesk
/// access, so more).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted: bounds the hashing work one request can ask for.
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: accounts, servers, tokens, people.
    Admin,
    /// Only the servers shared with them: approve OAuth clients, see and revoke their grants.
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

/// A person as shown (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: String,
    /// Lowercased; unique.
    pub email: String,
    pub name: String,
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PersonInputError {
    #[error("email must be an address such as agent@example.com")]
    Email,
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("password must be at most {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
    #[error("name must be at most 200 characters")]
    Name,
}

/// An email address as stored: trimmed, lowercased, of the shape `local@domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, PersonInputError> {
        let email = raw.trim().to_lowercase();
        let ok = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if ok {
            Ok(Email(email))
        } else {
            Err(PersonInputError::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password that meets the length rules.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, PersonInputError> {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(PersonInputError::PasswordTooLong);
        }
        if raw.chars().count() < MIN_PASSWORD_CHARS {
            return Err(PersonInputError::PasswordTooShort);
        }
        Ok(NewPassword(SecretString::from(raw.to_owned())))
    }

    /// The argon2id PHC string of this password, with a fresh random salt.
    pub fn hash(&self) -> String {
        Argon2::default()
            .hash_password(self.0.expose_secret().as_bytes())
            .expect("argon2 with default parameters hashes any bounded password")
            .to_string()
    }
}

/// A display name: trimmed, at most 200 characters; empty means "use the email".
pub fn parse_name(raw: Option<&str>) -> Result<String, PersonInputError> {
    let name = raw.unwrap_or_default().trim();
    if name.chars().count() > 200 {
        return Err(PersonInputError::Name);
    }
    Ok(name.to_owned())
}

/// Whether `password` matches the PHC string `hash`. A hash that cannot be parsed matches
/// nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// Verified instead when no person has the address, so an unknown address costs as much as a
/// wrong password (no timing oracle for which addresses exist). The hash of a random password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        NewPassword::parse(&crate::tokens::random_urlsafe(24))
            .expect("a random 32-character password is long enough")
            .hash()
    })
}

impl From<PersonInputError> for ApiError {
    fn from(e: PersonInputError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

/// A person to add, as an admin (or `deskgate person add`) gives it.
pub struct NewPerson<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub role: Role,
    pub password: &'a str,
}

impl App {
    /// The person whose email and password these are. Failures (an unknown email or a wrong
    /// password, told apart nowhere) count against the client's address in `auth_throttle`,
    /// and an address past its budget is refused before the password is even checked.
    pub async fn authenticate_person(
        &self,
        email: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<Person, ApiError> {
        if let Some(retry_after_secs) = self.auth_throttle.blocked(client) {
            return Err(ApiError::TooManyRequests { retry_after_secs });
        }
        let found = match Email::parse(email) {
            Ok(email) => self.store.find_person_login(email.as_str()).await?,
            Err(_) => None,
        };
        let hash = found
            .as_ref()
            .map_or_else(|| decoy_hash().to_owned(), |(_, hash)| hash.clone());
        let password = SecretString::from(password.to_owned());
        let matches = blocking(move || verify_password(password.expose_secret(), &hash)).await;
        match found {
            Some((person, _)) if matches => Ok(person),
            _ => {
                self.auth_throttle.failed(client);
                Err(ApiError::Unauthorized)
            }
        }
    }

    /// Adds a person; 409 when the email is taken.
    pub async fn create_person(&self, new: NewPerson<'_>) -> Result<Person, ApiError> {
        add(&self.store, new).await
    }

    /// Sets a new password and signs the person out everywhere.
    pub async fn reset_password(&self, id: &str, password: &str) -> Result<(), ApiError> {
        let password = NewPassword::parse(password)?;
        let hash = blocking(move || password.hash()).await;
        if !self
            .store
            .set_person_password(id, &hash, Timestamp::now())
            .await?
        {
            return Err(ApiError::NotFound("person"));
        }
        tracing::info!(person.id = %id, "password reset; the person's sessions were closed");
        Ok(())
    }

    /// Deletes a person: their sessions, shares and the grants they approved go with them.
    pub async fn delete_person(&self, id: &str) -> Result<(), ApiError> {
        if !self.store.delete_person(id).await? {
            return Err(ApiError::NotFound("person"));
        }
        tracing::info!(person.id = %id, "person deleted");
        Ok(())
    }

    /// Whether `operator` may see and approve clients for `server`: admins always, agents
    /// when an admin shared it with them.
    pub async fn may_use_server(
        &self,
        operator: &crate::ui::session::Operator,
        server_id: &str,
    ) -> Result<bool, StoreError> {
        match &operator.person {
            Some(person) if person.role == Role::Agent => {
                self.store.is_shared(server_id, &person.id).await
            }
            _ => Ok(true),
        }
    }
}

/// Adds a person (the API, the console and `deskgate person add`); 409 when the email is
/// taken.
pub async fn add(store: &crate::store::Store, new: NewPerson<'_>) -> Result<Person, ApiError> {
    let email = Email::parse(new.email)?;
    let name = parse_name(new.name)?;
    let password = NewPassword::parse(new.password)?;
    let hash = blocking(move || password.hash()).await;
    let now = Timestamp::now();
    let person = Person {
        id: uuid::Uuid::now_v7().to_string(),
        email: email.as_str().to_owned(),
        name,
        role: new.role,
        created_at: now,
        updated_at: now,
    };
    if !store.insert_person(&person, &hash).await? {
        return Err(ApiError::Conflict(format!(
            "a person with the email {} exists already",
            person.email
        )));
    }
    tracing::info!(person.id = %person.id, role = person.role.as_str(), "person added");
    Ok(person)
}

/// Runs password hashing or verification on the blocking pool.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("password hashing does not panic")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse("  Agent@Acme.Example ").unwrap().as_str(),
            "agent@acme.example"
        );
        for bad in [
            "",
            "agent",
            "@acme.example",
            "agent@",
            "a b@acme.example",
            "a@b@c",
            "a@.example",
        ] {
            assert_eq!(Email::parse(bad), Err(PersonInputError::Email), "{bad}");
        }
    }

    #[test]
    fn passwords_round_trip_through_argon2id() {
        let password = NewPassword::parse("correct horse battery").unwrap();
        let hash = password.hash();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("", &hash));
        assert!(!verify_password(
            "correct horse battery",
            "not a phc string"
        ));
        // A fresh salt every time.
        assert_ne!(password.hash(), hash);
    }

    #[test]
    fn password_length_is_bounded_both_ways() {
        assert_eq!(
            NewPassword::parse("short").err(),
            Some(PersonInputError::PasswordTooShort)
        );
        assert_eq!(
            NewPassword::parse(&"x".repeat(MAX_PASSWORD_BYTES + 1)).err(),
            Some(PersonInputError::PasswordTooLong)
        );
        // Counted in characters, not bytes.
        assert!(NewPassword::parse(&"é".repeat(MIN_PASSWORD_CHARS)).is_ok());
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::Admin, Role::Agent] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("owner"), None);
    }
}
