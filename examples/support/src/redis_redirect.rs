//! Where a Redis `MOVED` or `ASK` may lead the store adapter (`redis_store`): another port
//! of the URL's own host only, so the URL's password never goes to a host nobody configured.

/// Where a redirect leads.
#[derive(Debug, PartialEq)]
pub(crate) enum Redirect {
    /// The URL to follow it to.
    Follow(String),
    /// Another host than the URL's: not followed.
    OtherHost,
}

/// `url` with its port replaced by a redirect's `addr` (`MOVED`/`ASK`, `HOST:PORT`, or `:PORT`
/// for the same host) when `HOST` is the URL's host (compared without brackets and case):
/// the same scheme, user, password, host name, database and query. `OtherHost` for any
/// other host. `None` for a Unix socket URL (a cluster redirects to TCP nodes only) or a
/// malformed address.
pub(crate) fn redirected(url: &str, addr: &str) -> Option<Redirect> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "redis" | "rediss") {
        return None;
    }
    let (user, rest) = match rest.rsplit_once('@') {
        Some((user, rest)) => (format!("{user}@"), rest),
        None => (String::new(), rest),
    };
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (old_host, tail) = rest.split_at(split);
    let (host, port) = addr.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    // The URL's host as written (brackets kept), without its port.
    let spelled = match old_host.strip_prefix('[') {
        Some(v6) => &old_host[..v6.find(']')? + 2],
        None => old_host.rsplit_once(':').map_or(old_host, |(h, _)| h),
    };
    let bare = |h: &str| h.trim_start_matches('[').trim_end_matches(']').to_owned();
    let host = bare(host);
    if !host.is_empty() && !host.eq_ignore_ascii_case(&bare(spelled)) {
        return Some(Redirect::OtherHost);
    }
    Some(Redirect::Follow(format!(
        "{scheme}://{user}{spelled}:{port}{tail}"
    )))
}

#[cfg(test)]
mod tests {
    use super::{redirected, Redirect};

    fn follow(url: &str) -> Option<Redirect> {
        Some(Redirect::Follow(url.to_owned()))
    }

    #[test]
    fn a_redirect_is_followed_to_another_port_of_the_urls_host_only() {
        let url = "rediss://u:p%3Aw@Redis.Internal:6380/2?x=1";
        let same = follow("rediss://u:p%3Aw@Redis.Internal:7001/2?x=1");
        assert_eq!(redirected(url, "redis.internal:7001"), same);
        assert_eq!(redirected(url, ":7001"), same);
        for other in [
            "10.0.0.5:7001",
            "evil.example:6380",
            "redis.internal.evil:7001",
        ] {
            assert_eq!(redirected(url, other), Some(Redirect::OtherHost), "{other}");
        }
        let v6 = "redis://[::1]:6379/0";
        assert_eq!(redirected(v6, "::1:7001"), follow("redis://[::1]:7001/0"));
        assert_eq!(redirected(v6, "[::1]:7001"), follow("redis://[::1]:7001/0"));
        assert_eq!(redirected(v6, "::2:7001"), Some(Redirect::OtherHost));
        assert_eq!(
            redirected("redis://host/0", "host:7001"),
            follow("redis://host:7001/0")
        );
        assert_eq!(redirected("redis+unix:///tmp/r.sock", ":7001"), None);
        assert_eq!(redirected(url, "redis.internal:port"), None);
        assert_eq!(redirected("redis://[::1/0", ":7001"), None);
    }
}
