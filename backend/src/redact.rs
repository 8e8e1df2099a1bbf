//! Layer 0, keeping secrets out of every text that leaves the plugin: credentials in URLs
//! (`http://user:pass@host`) and the datasource's own secret values, as written, percent-encoded
//! or as the base64 of a basic-auth header, wherever a TSDB, a proxy or a library echoed them
//! (an HTML `<title>`, a JSON error, a transport error). The datasource layer runs every error,
//! notice, health detail and resource answer through `Settings::scrub`, which uses these.
//!
//! May use: nothing of the crate.

/// What a secret becomes.
pub const REDACTED: &str = "<redacted>";

/// Secrets shorter than this are not searched for: replacing every `x` would garble messages
/// (and a secret that short protects nothing).
const MIN_SECRET_LEN: usize = 4;

/// `text` with the userinfo of every URL in it replaced (`http://<redacted>@host`).
pub fn url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_inclusive(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '<' || c == '>') {
        match (word.find("://"), word.find('@')) {
            (Some(scheme), Some(at)) if at > scheme && !word[scheme + 3..at].contains('/') => {
                out.push_str(&word[..scheme + 3]);
                out.push_str(REDACTED);
                out.push('@');
                out.push_str(&word[at + 1..]);
            }
            _ => out.push_str(word),
        }
    }
    out
}

/// `text` with every one of `secrets` (and its percent-encoded form) replaced.
pub fn secrets<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = text.to_string();
    for secret in secrets.into_iter().filter(|s| s.len() >= MIN_SECRET_LEN) {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
        let encoded = percent_encode(secret);
        if encoded != secret && out.contains(&encoded) {
            out = out.replace(&encoded, REDACTED);
        }
    }
    out
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Standard base64 with padding (what an `Authorization: Basic` header carries).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_removed() {
        assert_eq!(url_credentials("GET 'https://reader:pw@vm:8428/api' failed"), "GET 'https://<redacted>@vm:8428/api' failed");
        assert_eq!(url_credentials("mail me at a@b.c, see http://host/a@b"), "mail me at a@b.c, see http://host/a@b");
        assert_eq!(url_credentials("<title>https://u:p@x/</title>"), "<title>https://<redacted>@x/</title>");
    }

    #[test]
    fn secrets_are_replaced_as_written_and_encoded() {
        let text = "token s3cr3t/+= or s3cr3t%2F%2B%3D, abc stays";
        assert_eq!(secrets(text, ["s3cr3t/+=", "abc"]), "token <redacted> or <redacted>, abc stays");
    }

    #[test]
    fn base64_as_basic_auth_encodes_it() {
        assert_eq!(base64(b"grafana:s3cret"), "Z3JhZmFuYTpzM2NyZXQ=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b""), "");
    }
}
