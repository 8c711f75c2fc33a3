//! The vault seals credentials at rest with AES-256-GCM.
//!
//! A sealed value is `[key id: u8][nonce: 12 bytes][ciphertext + tag]`. The leading key id lets
//! keys rotate: new values are sealed with the current key, old values still open with the key
//! they name. The owner's id (an integrated account id, say) is bound as associated data, so a
//! sealed blob copied onto another row does not open.

use std::collections::HashMap;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};

const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("vault key is not valid: {0}")]
    BadKey(String),
    #[error("sealed value was made with key id {0}, which this server does not hold")]
    UnknownKeyId(u8),
    #[error("sealed value is damaged or was sealed for another owner")]
    Corrupt,
    #[error(
        "the vault key file {path} is missing, but the database holds credentials sealed with a vault key; \
         a new key would open none of them. Restore the key file (or set DESKGATE_VAULT_KEY to the key \
         that sealed them); deskgate generates a key file only for a database without sealed data"
    )]
    KeyFileMissing { path: String },
    #[error("could not read or write the vault key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
}

/// Where the vault's key came from, so start-up can say it in the log (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    ExistingFile(String),
    GeneratedFile(String),
}

pub struct Vault {
    current: u8,
    keys: HashMap<u8, Aes256Gcm>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("current_key_id", &self.current)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Vault {
    /// Parses a key spec: `BASE64KEY` (key id 1) or `ID:BASE64KEY`, several separated by commas,
    /// the first being the one new values are sealed with.
    pub fn from_spec(spec: &str) -> Result<Self, VaultError> {
        let mut keys = HashMap::new();
        let mut current = None;
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, encoded) = match part.split_once(':') {
                Some((id, key)) => (
                    id.parse::<u8>()
                        .map_err(|_| VaultError::BadKey(format!("key id {id:?} is not 0-255")))?,
                    key,
                ),
                None => (1, part),
            };
            let bytes = STANDARD
                .decode(encoded)
                .map_err(|_| VaultError::BadKey("a key is not valid base64".into()))?;
            if bytes.len() != KEY_LEN {
                return Err(VaultError::BadKey(format!(
                    "a key must be {KEY_LEN} bytes (base64 of 32 random bytes), got {}",
                    bytes.len()
                )));
            }
            if keys
                .insert(id, Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)))
                .is_some()
            {
                return Err(VaultError::BadKey(format!("key id {id} given twice")));
            }
            current.get_or_insert(id);
        }
        let current = current.ok_or_else(|| VaultError::BadKey("no key given".into()))?;
        Ok(Self { current, keys })
    }

    /// Loads the key from the environment value when given, else from `path`, generating that
    /// file (0600) on first run, that is only when `may_generate` (nothing sealed exists yet).
    pub fn open_or_create(
        env_spec: Option<&str>,
        path: &Path,
        may_generate: bool,
    ) -> Result<(Self, KeySource), VaultError> {
        if let Some(spec) = env_spec.filter(|s| !s.trim().is_empty()) {
            return Ok((Self::from_spec(spec)?, KeySource::Environment));
        }
        let display = path.display().to_string();
        let io_err = |source| VaultError::KeyFile {
            path: display.clone(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(spec) => Ok((
                Self::from_spec(&spec)?,
                KeySource::ExistingFile(display.clone()),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !may_generate => {
                Err(VaultError::KeyFileMissing { path: display })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate_key_spec();
                write_private_file(path, &key).map_err(io_err)?;
                Ok((
                    Self::from_spec(&key)?,
                    KeySource::GeneratedFile(display.clone()),
                ))
            }
            Err(e) => Err(io_err(e)),
        }
    }

    /// The ids of the keys this vault holds, the sealing one first.
    pub fn key_ids(&self) -> Vec<u8> {
        let mut ids: Vec<u8> = self
            .keys
            .keys()
            .copied()
            .filter(|id| *id != self.current)
            .collect();
        ids.sort_unstable();
        ids.insert(0, self.current);
        ids
    }

    /// The key id a sealed value names (its first byte), if it has one.
    pub fn sealed_key_id(sealed: &[u8]) -> Option<u8> {
        sealed.first().copied()
    }

    /// A fresh `1:BASE64` key spec.
    pub fn generate_key_spec() -> String {
        let key = Aes256Gcm::generate_key(OsRng);
        format!("1:{}", STANDARD.encode(key))
    }

    pub fn seal(&self, owner: &str, plaintext: &[u8]) -> Vec<u8> {
        let cipher = &self.keys[&self.current];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: owner.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(self.current);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, owner: &str, sealed: &[u8]) -> Result<SecretString, VaultError> {
        let bytes = self.open_bytes(owner, sealed)?;
        String::from_utf8(bytes)
            .map(SecretString::from)
            .map_err(|_| VaultError::Corrupt)
    }

    fn open_bytes(&self, owner: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let (&key_id, rest) = sealed.split_first().ok_or(VaultError::Corrupt)?;
        if rest.len() < NONCE_LEN {
            return Err(VaultError::Corrupt);
        }
        let cipher = self
            .keys
            .get(&key_id)
            .ok_or(VaultError::UnknownKeyId(key_id))?;
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Corrupt)
    }

    /// Seals a secret string (convenience over [`Vault::seal`]).
    pub fn seal_secret(&self, owner: &str, secret: &SecretString) -> Vec<u8> {
        self.seal(owner, secret.expose_secret().as_bytes())
    }
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vault() -> Vault {
        Vault::from_spec(&Vault::generate_key_spec()).unwrap()
    }

    proptest! {
        #[test]
        fn seal_then_open_round_trips(owner in ".{0,40}", secret in proptest::collection::vec(any::<u8>(), 0..512)) {
            let v = vault();
            let sealed = v.seal(&owner, &secret);
            prop_assert_eq!(v.open_bytes(&owner, &sealed).unwrap(), secret);
        }

        #[test]
        fn any_flipped_bit_is_refused(secret in proptest::collection::vec(any::<u8>(), 1..64), bit in 0usize..8, pos in 1usize..200) {
            let v = vault();
            let mut sealed = v.seal("acct", &secret);
            let pos = pos % sealed.len();
            sealed[pos] ^= 1 << bit;
            prop_assert!(v.open_bytes("acct", &sealed).is_err());
        }
    }

    #[test]
    fn another_owner_cannot_open() {
        let v = vault();
        let sealed = v.seal("account-a", b"secret");
        assert!(matches!(
            v.open_bytes("account-b", &sealed),
            Err(VaultError::Corrupt)
        ));
    }

    #[test]
    fn rotated_keys_still_open_old_values() {
        let old = Vault::from_spec("1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        let sealed = old.seal("o", b"v");
        let new_key = Vault::generate_key_spec().replace("1:", "2:");
        let rotated = Vault::from_spec(&format!(
            "{new_key},1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        ))
        .unwrap();
        assert_eq!(rotated.open_bytes("o", &sealed).unwrap(), b"v");
        assert_eq!(rotated.seal("o", b"v")[0], 2);
        let without_old = Vault::from_spec(&new_key).unwrap();
        assert!(matches!(
            without_old.open_bytes("o", &sealed),
            Err(VaultError::UnknownKeyId(1))
        ));
    }

    #[test]
    fn bad_specs_are_explained() {
        assert!(Vault::from_spec("").is_err());
        assert!(Vault::from_spec("not base64!").is_err());
        assert!(Vault::from_spec("1:AAAA").is_err());
    }

    #[test]
    fn generated_key_file_is_private() {
        let dir = std::env::temp_dir().join(format!("deskgate-vault-{}", uuid::Uuid::new_v4()));
        let path = dir.join("deskgate.key");
        assert!(matches!(
            Vault::open_or_create(None, &path, false),
            Err(VaultError::KeyFileMissing { .. })
        ));
        assert!(
            !path.exists(),
            "a key file was generated although sealed data exists"
        );
        let (_, source) = Vault::open_or_create(None, &path, true).unwrap();
        assert!(matches!(source, KeySource::GeneratedFile(_)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (_, again) = Vault::open_or_create(None, &path, false).unwrap();
        assert!(matches!(again, KeySource::ExistingFile(_)));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
