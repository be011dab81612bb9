/// Facts about the request that the audit trail and throttles need.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub ip: String,
    /// The browser's "remembered device" token, if it sent one.
    pub device_token: Option<String>,
    /// The browser's User-Agent, to name a remembered device.
    pub user_agent: Option<String>,
    /// The entries of the browser's "signed in here before" cookie (one per account).
    pub known_devices: Vec<String>,
}

impl RequestContext {
    /// What throttles count per: the IPv4 address, or the IPv6 /64 (one subscriber usually
    /// holds a whole /64, so counting single IPv6 addresses would let one client rotate freely).
    pub fn network(&self) -> String {
        match self.ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Ok(std::net::IpAddr::V6(v6)) => v6
                .to_ipv4_mapped()
                .map(|v4| v4.to_string())
                .unwrap_or_default(),
            _ => self.ip.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RequestContext;

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a = RequestContext {
            ip: "2001:db8:1:2:aaaa::1".into(),
            ..Default::default()
        };
        let b = RequestContext {
            ip: "2001:db8:1:2:bbbb::2".into(),
            ..Default::default()
        };
        assert_eq!(a.network(), "2001:db8:1:2::/64");
        assert_eq!(a.network(), b.network());
        assert_eq!(
            RequestContext {
                ip: "192.0.2.7".into(),
                ..Default::default()
            }
            .network(),
            "192.0.2.7"
        );
        assert_eq!(
            RequestContext {
                ip: "::ffff:192.0.2.7".into(),
                ..Default::default()
            }
            .network(),
            "192.0.2.7"
        );
    }
}
