//! Who the authenticated user is to the outside: the e-mail address and
//! display name that Settings UserInformation and Autodiscover report.
//!
//! A user name that is an address (`jane@example.com`, as many Horde sites
//! log in) is the address; otherwise `[mail] domain` completes it. Neither
//! backend keeps a display name, so the local part stands in for it.

use crate::config::Config;

/// The user's primary address, `None` when there is no way to make one
/// (a bare user name and no `[mail] domain`).
pub fn email_address(config: &Config, user: &str) -> Option<String> {
    if user.contains('@') {
        return Some(user.to_string());
    }
    let domain = config
        .mail
        .domain
        .as_deref()?
        .trim()
        .trim_start_matches('@');
    (!domain.is_empty()).then(|| format!("{user}@{domain}"))
}

/// The user of this server an address names, the inverse of
/// [`email_address`]: the local part of an address in `[mail] domain`,
/// otherwise the address itself (sites where users log in with their
/// address). `None` for text that is no address.
pub fn user_of(config: &Config, address: &str) -> Option<String> {
    let address = address.trim();
    let (local, domain) = address.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    let ours = config
        .mail
        .domain
        .as_deref()
        .map(|d| d.trim().trim_start_matches('@'))
        .is_some_and(|d| d.eq_ignore_ascii_case(domain));
    Some(if ours { local } else { address }.to_string())
}

/// The name shown for the user.
pub fn display_name(user: &str) -> &str {
    user.split('@').next().unwrap_or(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_from_user_name_or_domain() {
        let mut config = Config::default();
        assert_eq!(email_address(&config, "jane"), None);
        assert_eq!(
            email_address(&config, "jane@example.com").as_deref(),
            Some("jane@example.com")
        );
        config.mail.domain = Some("@example.org".into());
        assert_eq!(
            email_address(&config, "jane").as_deref(),
            Some("jane@example.org")
        );
        assert_eq!(
            user_of(&config, "Jane@EXAMPLE.org").as_deref(),
            Some("Jane")
        );
        assert_eq!(
            user_of(&config, "jane@example.com").as_deref(),
            Some("jane@example.com")
        );
        assert_eq!(user_of(&config, "jane"), None);
        assert_eq!(display_name("jane@example.com"), "jane");
        assert_eq!(display_name("jane"), "jane");
    }
}
