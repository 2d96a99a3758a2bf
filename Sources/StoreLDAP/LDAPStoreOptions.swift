/// Settings of an ``LDAPStore``: where the directory is, how to bind, where
/// under it the store keeps its entries.
public struct LDAPStoreOptions: Sendable, Hashable, CustomStringConvertible {
    /// `ldap://host:port/` or `ldaps://host:port/`.
    public var url: String
    /// Simple bind DN; nil binds anonymously (which the shipped ACLs refuse).
    public var bindDN: String?
    /// Never logged, never part of an error or of ``description``.
    public var bindPassword: String
    /// The entry under which the store keeps its containers (`ou=users`, ...);
    /// created when absent if its parent exists.
    public var baseDN: String
    /// PEM file of the CAs to trust for `ldaps://` or StartTLS.
    public var caFile: String?
    /// Upgrade `ldap://` with StartTLS before binding.
    public var startTLS: Bool
    /// Connections kept to the directory, at most; 1...256. Default 4.
    public var poolSize: Int
    /// Seconds for connecting, for each operation, and for waiting for a pooled
    /// connection; 0.1...300. Default 5.
    public var timeout: Double
    /// The longest JSON value the store accepts, in bytes of its text. Default 1 MiB.
    public var maxJSONBytes: Int
    /// Let the directory sort listings (RFC 2891) when it offers the control
    /// (slapd's sssvlv overlay, which start-slapd.sh loads). Default true; false
    /// always selects pages in Swift from a scan (see ``LDAPStore``).
    public var serverSideSorting: Bool

    public init(
        url: String, bindDN: String? = nil, bindPassword: String = "", baseDN: String, caFile: String? = nil, startTLS: Bool = false,
        poolSize: Int = 4, timeout: Double = 5, maxJSONBytes: Int = 1 << 20, serverSideSorting: Bool = true
    ) {
        self.url = url
        self.bindDN = bindDN
        self.bindPassword = bindPassword
        self.baseDN = baseDN
        self.caFile = caFile
        self.startTLS = startTLS
        self.poolSize = poolSize
        self.timeout = timeout
        self.maxJSONBytes = maxJSONBytes
        self.serverSideSorting = serverSideSorting
    }

    public var description: String {
        "LDAPStoreOptions(url: \(url), bindDN: \(bindDN ?? "anonymous"), baseDN: \(baseDN), startTLS: \(startTLS), poolSize: \(poolSize), timeout: \(timeout))"
    }
}
