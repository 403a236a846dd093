//! Origins: which web pages may open a socket.
//!
//! Browsers send an `Origin` header with every WebSocket upgrade, and any
//! page on any site may open a socket to this server with the visitor's
//! cookies (cross-site WebSocket hijacking). So
//! [`websocket`](crate::axum::websocket) checks the header before it
//! upgrades ([`is_allowed`]):
//!
//! - no `Origin` header (a client that is not a browser): allowed;
//! - the server's own origin, scheme `http` with the host and port of the
//!   request's `Host` header: allowed;
//! - an origin the app lists ([`AppBuilder::allowed_origins`](crate::AppBuilder::allowed_origins)): allowed;
//! - anything else, `null` and malformed values included: HTTP 403.
//!
//! Origins compare as RFC 6454 says: scheme, host and port, the scheme and
//! host without regard to ASCII case, a missing port as the scheme's default
//! (`http://example.com` is `http://example.com:80`), IPv6 hosts as
//! addresses (`[::1]` is `[0:0::1]`). The server's own origin is always
//! `http`: behind a proxy that terminates TLS, list the `https` origin of
//! the app's pages.
//!
//! ```
//! use rest_channels::origin::{Origin, is_allowed};
//!
//! let allowed = [Origin::parse("https://app.example").unwrap()];
//! let host = Some(&b"127.0.0.1:8000"[..]);
//! assert!(is_allowed(None, host, &allowed));
//! assert!(is_allowed(Some(b"http://127.0.0.1:8000"), host, &allowed));
//! assert!(is_allowed(Some(b"https://APP.example:443"), host, &allowed));
//! assert!(!is_allowed(Some(b"https://evil.example"), host, &allowed));
//! assert!(!is_allowed(Some(b"null"), host, &allowed));
//! ```

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

/// A web origin: scheme, host and port (`https://app.example:8443`).
///
/// Parsed from its serialization (RFC 6454): `scheme://host` with an
/// optional `:port`, and nothing else (no path, no user, no query).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Lower case.
    scheme: String,
    host: Host,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Host {
    /// A name or an IPv4 address, lower case.
    Name(String),
    Ipv6(Ipv6Addr),
}

/// Why a value is not an origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{origin:?} is not an origin ({reason}); write it as scheme://host or scheme://host:port, e.g. https://app.example:8443"
)]
pub struct InvalidOrigin {
    /// The value, as given.
    pub origin: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Origin {
    /// Parses an origin such as `https://app.example` or `http://[::1]:8000`.
    ///
    /// ```
    /// use rest_channels::origin::Origin;
    ///
    /// let o = Origin::parse("HTTPS://App.Example").unwrap();
    /// assert_eq!(o, Origin::parse("https://app.example:443").unwrap());
    /// assert_eq!(o.to_string(), "https://app.example");
    /// assert!(Origin::parse("https://app.example/").is_err()); // a path
    /// assert!(Origin::parse("null").is_err());
    /// assert!(Origin::parse("*").is_err());
    /// ```
    pub fn parse(origin: &str) -> Result<Origin, InvalidOrigin> {
        parse(origin.as_bytes()).map_err(|reason| InvalidOrigin {
            origin: origin.to_owned(),
            reason,
        })
    }

    /// The scheme, in lower case.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The port (the scheme's default when the origin names none).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl FromStr for Origin {
    type Err = InvalidOrigin;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Origin::parse(s)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        match &self.host {
            Host::Name(name) => f.write_str(name)?,
            Host::Ipv6(ip) => write!(f, "[{ip}]")?,
        }
        if Some(self.port) != default_port(self.scheme.as_bytes()) {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// Whether an upgrade request with this `Origin` header (`None`: none) and
/// this `Host` header (`None`: none) may open a socket, when the app allows
/// `allowed` besides the server's own origin (`http` and the `Host`).
///
/// Malformed values are refused, never an error: an `Origin` that does not
/// parse (`null`, a path, bytes that are not ASCII) is refused, and a `Host`
/// that does not parse gives the server no own origin. Total over any bytes.
pub fn is_allowed(origin: Option<&[u8]>, host: Option<&[u8]>, allowed: &[Origin]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let Ok(origin) = parse(origin) else {
        return false;
    };
    if let Some(host) = host
        && let Ok((host, port)) = parse_authority(host, 80)
        && origin.scheme == "http"
        && origin.host == host
        && origin.port == port
    {
        return true;
    }
    allowed.contains(&origin)
}

fn default_port(scheme: &[u8]) -> Option<u16> {
    match scheme {
        b"http" | b"ws" => Some(80),
        b"https" | b"wss" => Some(443),
        _ => None,
    }
}

fn parse(origin: &[u8]) -> Result<Origin, &'static str> {
    let Some(sep) = origin.windows(3).position(|w| w == b"://") else {
        return Err(if origin.eq_ignore_ascii_case(b"null") {
            "an opaque origin"
        } else {
            "no scheme://"
        });
    };
    let (scheme, authority) = (&origin[..sep], &origin[sep + 3..]);
    let valid_scheme = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid_scheme {
        return Err("not a valid scheme");
    }
    let scheme = scheme.to_ascii_lowercase();
    let Some(default) = default_port(&scheme) else {
        return Err("the scheme is not http, https, ws or wss");
    };
    let (host, port) = parse_authority(authority, default)?;
    Ok(Origin {
        scheme: String::from_utf8(scheme).map_err(|_| "not ASCII")?,
        host,
        port,
    })
}

/// `host` or `host:port`, as in an origin or a `Host` header.
fn parse_authority(authority: &[u8], default_port: u16) -> Result<(Host, u16), &'static str> {
    if authority.contains(&b'/') {
        return Err("a path after the host");
    }
    if authority.contains(&b'@') {
        return Err("user information before the host");
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix(b"[") {
        let end = rest
            .iter()
            .position(|&b| b == b']')
            .ok_or("an IPv6 address without its closing ]")?;
        let ip = std::str::from_utf8(&rest[..end])
            .ok()
            .and_then(|s| s.parse::<Ipv6Addr>().ok())
            .ok_or("not a valid IPv6 address")?;
        (Host::Ipv6(ip), &rest[end + 1..])
    } else {
        let end = authority
            .iter()
            .position(|&b| b == b':')
            .unwrap_or(authority.len());
        let name = &authority[..end];
        if name.is_empty() {
            return Err("no host");
        }
        if !name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            return Err("a character that a host name cannot have");
        }
        let name = String::from_utf8(name.to_ascii_lowercase()).map_err(|_| "not ASCII")?;
        (Host::Name(name), &authority[end..])
    };
    let port = match port {
        [] => default_port,
        [b':', digits @ ..] => {
            if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
                return Err("not a valid port");
            }
            std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse::<u16>().ok())
                .filter(|&p| p != 0)
                .ok_or("not a valid port")?
        }
        _ => return Err("something after the host"),
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(origin: &str, host: &str, list: &[&str]) -> bool {
        let list: Vec<Origin> = list.iter().map(|o| o.parse().unwrap()).collect();
        is_allowed(Some(origin.as_bytes()), Some(host.as_bytes()), &list)
    }

    #[test]
    fn no_origin_is_allowed() {
        assert!(is_allowed(None, None, &[]));
        assert!(is_allowed(None, Some(b"x:1"), &[]));
    }

    #[test]
    fn own_origin_follows_the_host_header() {
        assert!(allowed("http://127.0.0.1:8000", "127.0.0.1:8000", &[]));
        assert!(allowed("http://localhost:8000", "localhost:8000", &[]));
        assert!(!allowed("http://127.0.0.1:8000", "localhost:8000", &[]));
        // case of scheme and host does not matter
        assert!(allowed("HTTP://LocalHost:8000", "localhost:8000", &[]));
        assert!(allowed("http://localhost:8000", "LOCALHOST:8000", &[]));
        // the default port, written or not, on either side
        assert!(allowed("http://example.com", "example.com", &[]));
        assert!(allowed("http://example.com:80", "example.com", &[]));
        assert!(allowed("http://example.com", "example.com:80", &[]));
        // IPv6 as addresses
        assert!(allowed("http://[::1]:8000", "[::1]:8000", &[]));
        assert!(allowed("http://[0:0::1]:8000", "[::1]:8000", &[]));
        assert!(allowed("http://[::1]", "[0::1]", &[]));
        assert!(!allowed("http://[::2]:8000", "[::1]:8000", &[]));
    }

    #[test]
    fn foreign_origins_are_refused() {
        let host = "127.0.0.1:8000";
        for origin in [
            "http://evil.example",
            "null",
            "NULL",
            "",
            "http://127.0.0.1:8001",
            "http://127.0.0.1",
            "https://127.0.0.1:8000",
            "ws://127.0.0.1:8000",
            "http://localhost:8000",
            "http://127.0.0.1:80000",
            "http://127.0.0.1:8000.evil.example",
            "http://127.0.0.1:8000/",
            "http://127.0.0.1:8000/path",
            "http://user@127.0.0.1:8000",
            "http://127.0.0.1:8000?x",
            "http://127.0.0.1:8000#x",
            "http://127.0.0.1:",
            "http://127.0.0.1:+800",
            "http://127.0.0.1:0",
            "http://",
            "://127.0.0.1:8000",
            "1http://127.0.0.1:8000",
            "http:/127.0.0.1:8000",
            " http://127.0.0.1:8000",
            "http://127.0.0.1:8000 ",
            "http://127.0.0.1:8000, http://evil.example",
            "http://[::1",
            "http://[::1]x",
            "http://[zz]",
            "http://exämple.com",
        ] {
            assert!(!allowed(origin, host, &[]), "{origin:?} allowed");
        }
    }

    #[test]
    fn a_bad_host_header_gives_no_own_origin() {
        for host in ["", "a b", "x:y", "[::1", "host/path", "u@host"] {
            assert!(!allowed("http://x", host, &[]), "{host:?}");
        }
        assert!(!is_allowed(Some(b"http://x"), None, &[]));
        // the list still applies
        assert!(allowed(
            "http://good.example",
            "a b",
            &["http://good.example"]
        ));
        assert!(!is_allowed(Some(&[0xff, 0xfe]), Some(&[0xff]), &[]));
    }

    #[test]
    fn listed_origins_are_allowed() {
        let list = ["http://good.example", "https://app.example:8443"];
        let host = "127.0.0.1:8000";
        for ok in [
            "http://good.example",
            "http://GOOD.example:80",
            "https://app.example:8443",
        ] {
            assert!(allowed(ok, host, &list), "{ok}");
        }
        for no in [
            "http://good.example:8080",
            "https://good.example",
            "http://app.example:8443",
            "https://app.example",
            "http://evil.example",
            "null",
        ] {
            assert!(!allowed(no, host, &list), "{no}");
        }
    }

    #[test]
    fn parsing_and_display() {
        let o = Origin::parse("https://App.Example:8443").unwrap();
        assert_eq!((o.scheme(), o.port()), ("https", 8443));
        assert_eq!(o.to_string(), "https://app.example:8443");
        assert_eq!(
            Origin::parse("http://[0::1]").unwrap().to_string(),
            "http://[::1]"
        );
        let e = Origin::parse("*").unwrap_err();
        assert_eq!(e.reason, "no scheme://");
        assert!(e.to_string().contains("\"*\" is not an origin"));
        assert_eq!(
            Origin::parse("null").unwrap_err().reason,
            "an opaque origin"
        );
        assert_eq!(
            Origin::parse("ftp://x").unwrap_err().reason,
            "the scheme is not http, https, ws or wss"
        );
        assert_eq!(
            Origin::parse("https://x/").unwrap_err().reason,
            "a path after the host"
        );
    }
}
