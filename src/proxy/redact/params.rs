//! Which query parameters carry secrets: a documented built-in list, a rule for names that end
//! in a secret word, and names added at run time (configuration key `secret_query_params`,
//! [`ClientBuilder::secret_query_param`](crate::ClientBuilder::secret_query_param)). Their values
//! are masked in every printed URL; they are still sent on the wire.

use std::sync::{OnceLock, RwLock};

/// Query parameter names whose values are masked in every output, compared ASCII
/// case-insensitively after percent-decoding the name. Besides keys and tokens, the one-time
/// credentials a login hands back in a redirect's query: an OAuth 2.0 authorization `code`, a
/// CAS `ticket`, a SAML `SAMLResponse` or artifact (`SAMLart`), a JWT `assertion` or
/// `client_assertion` — each one buys a session to whoever replays it first.
pub const SECRET_QUERY_PARAMS: &[&str] = &[
    "access_token",
    "api-key",
    "api_key",
    "apikey",
    "assertion",
    "auth",
    "auth_token",
    "authorization",
    "bearer",
    "client_assertion",
    "client_secret",
    "code",
    "credential",
    "credentials",
    "id_token",
    "jwt",
    "key",
    "pass",
    "passwd",
    "password",
    "private_token",
    "pwd",
    "refresh_token",
    "samlart",
    "samlresponse",
    "secret",
    "session",
    "sessionid",
    "sid",
    "sig",
    "signature",
    "ticket",
    "token",
    "x-amz-credential",
    "x-amz-security-token",
    "x-amz-signature",
    "x-goog-credential",
    "x-goog-signature",
];

/// Last words that make any parameter name secret: a name whose last `_`-, `-`- or
/// `.`-separated word is one of these (`subscription-key`, `x_api_token`, `hub.secret`).
pub const SECRET_QUERY_SUFFIXES: &[&str] = &["key", "token", "secret", "password", "signature"];

/// Names added at run time, lowercased. Only ever grows: masking more is never a leak.
fn extra() -> &'static RwLock<Vec<String>> {
    static EXTRA: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    EXTRA.get_or_init(|| RwLock::new(Vec::new()))
}

/// Adds `name` (case-insensitive) to the secret query parameters of this process: from now on,
/// its values are masked in every URL proxyscope prints. Names are never removed.
pub fn add_secret_query_param(name: &str) {
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() || is_builtin(&name) {
        return;
    }
    let mut list = extra().write().unwrap_or_else(|p| p.into_inner());
    if !list.contains(&name) {
        list.push(name);
    }
}

/// Every secret query parameter name in force: the built-in list, then the names added.
pub fn secret_query_params() -> Vec<String> {
    let mut all: Vec<String> = SECRET_QUERY_PARAMS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    all.extend(
        extra()
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned(),
    );
    all
}

/// Whether a query parameter named `name` (as written, possibly percent-encoded) carries a
/// secret.
pub fn is_secret_param(name: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
    let name = decoded.trim().to_ascii_lowercase();
    if name.is_empty() {
        return false;
    }
    if is_builtin(&name) {
        return true;
    }
    extra()
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&name)
}

fn is_builtin(lower: &str) -> bool {
    if SECRET_QUERY_PARAMS.contains(&lower) {
        return true;
    }
    lower
        .rsplit(['_', '-', '.'])
        .next()
        .is_some_and(|last| last != lower && SECRET_QUERY_SUFFIXES.contains(&last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_by_list_and_last_word() {
        for name in [
            "key",
            "KEY",
            "api%5Fkey",
            "Access_Token",
            "subscription-key",
            "x_api_token",
            "hub.secret",
            "X-Amz-Signature",
        ] {
            assert!(is_secret_param(name), "{name}");
        }
        for name in ["q", "lang", "keyboard", "monkey", "tokens", "", "text"] {
            assert!(!is_secret_param(name), "{name}");
        }
    }

    /// What a login redirect carries back: the credential is masked, the rest stays readable.
    #[test]
    fn login_redirects_keep_their_one_time_credentials_out_of_output() {
        for (url, shown) in [
            (
                "https://sso.test/cas/login?service=https%3A%2F%2Fapp.test%2F&ticket=ST-1-abc",
                "https://sso.test/cas/login?service=https%3A%2F%2Fapp.test%2F&ticket=***",
            ),
            (
                "https://app.test/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz",
                "https://app.test/callback?code=***&state=xyz",
            ),
            (
                "https://sp.test/acs?SAMLart=AAQAAMh48%2FaH&RelayState=r1",
                "https://sp.test/acs?SAMLart=***&RelayState=r1",
            ),
            (
                "https://idp.test/token?client_assertion=eyJ.a.b&assertion=eyJ.c.d&grant_type=x",
                "https://idp.test/token?client_assertion=***&assertion=***&grant_type=x",
            ),
        ] {
            assert_eq!(crate::proxy::redact_url(url), shown);
        }
    }

    #[test]
    fn added_names_count_from_then_on() {
        assert!(!is_secret_param("zz_added_for_test"));
        add_secret_query_param(" ZZ_Added_For_Test ");
        assert!(is_secret_param("zz_added_for_test"));
        assert!(secret_query_params().contains(&"zz_added_for_test".to_owned()));
    }
}
