//! Passwords (argon2id hashes) and tokens: HS256 JSON Web Tokens signed with the hub's key.
//!
//! JWTs because upstream's client may read the expiry from them; HS256 because only this hub checks
//! them. Three kinds share one shape and are never interchangeable: `access` (the REST API),
//! `refresh` (one use, rotated) and `ws` (one WebSocket upgrade window).

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn hash_password(password: &str) -> Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    Ok(hash.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the user does not exist, so a wrong user name costs as long as a
/// wrong password and the answer time does not tell which names exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
    Ws,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user name.
    pub sub: String,
    pub team: String,
    pub kind: TokenKind,
    pub iat: u64,
    pub exp: u64,
    /// A random id: refresh tokens are spent by it.
    pub jti: String,
    /// Which incarnation of the account issued it (see [`account_version`]): a user removed and added
    /// again, or given a new password, does not get the old tokens back.
    #[serde(default)]
    pub ver: String,
}

/// A short fingerprint of the account's password hash (whose salt is new at every `user add`).
pub fn account_version(password_hash: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(password_hash.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub struct SigningKey {
    key: Vec<u8>,
}

impl SigningKey {
    /// Reads `signing.key` from the data folder, creating it (32 random bytes, mode 0600) on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<SigningKey> {
        let path = data_dir.join("signing.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let key = decode_hex(text.trim()).with_context(|| format!("{}: not a hex key", path.display()))?;
                if key.len() < 32 {
                    bail!("{}: the key is shorter than 32 bytes", path.display());
                }
                Ok(SigningKey { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = vec![0u8; 32];
                getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
                write_secret(&path, encode_hex(&key).as_bytes())?;
                // Two hubs started at once on one folder: keep whichever key reached the disk.
                Self::load_or_create(data_dir).or(Ok(SigningKey { key }))
            }
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    pub fn issue(
        &self,
        username: &str,
        team: &str,
        version: &str,
        kind: TokenKind,
        lifetime_secs: u64,
    ) -> Result<(String, Claims)> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
        let iat = now_secs();
        let claims = Claims {
            sub: username.to_string(),
            team: team.to_string(),
            kind,
            iat,
            exp: iat.saturating_add(lifetime_secs),
            jti: encode_hex(&id),
            ver: version.to_string(),
        };
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?);
        let signing_input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(signing_input.as_bytes()));
        Ok((format!("{signing_input}.{signature}"), claims))
    }

    /// The claims of a token of `kind` whose signature is ours and which has not expired.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Option<Claims> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&signature).ok()?;
        let (_, payload) = signing_input.split_once('.')?;
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (claims.kind == kind && claims.exp > now_secs()).then_some(claims)
    }

    fn mac(&self, input: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    }
}

/// Creates a file only its owner can read, failing if it exists.
fn write_secret(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents).and_then(|_| file.sync_all()).with_context(|| format!("cannot write {}", path.display()))
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_for_their_kind_and_signature() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::load_or_create(dir.path()).unwrap();
        let (token, claims) = key.issue("ana", "alpha", "v1", TokenKind::Access, 60).unwrap();
        assert_eq!(key.verify(&token, TokenKind::Access), Some(claims));
        assert_eq!(key.verify(&token, TokenKind::Refresh), None);
        let mut forged = token.clone().into_bytes();
        let at = forged.len() - 3;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.verify(&String::from_utf8(forged).unwrap(), TokenKind::Access), None);
        let (expired, _) = key.issue("ana", "alpha", "v1", TokenKind::Access, 0).unwrap();
        assert_eq!(key.verify(&expired, TokenKind::Access), None);
        let again = SigningKey::load_or_create(dir.path()).unwrap();
        assert!(again.verify(&token, TokenKind::Access).is_some(), "the key persists across starts");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("signing.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let hash = hash_password("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &hash));
        assert!(!verify_password("s3cret!", &hash));
        assert!(!verify_password("s3cret", "not a hash"));
    }
}
