internal import HTTPServer
public import IECConfig
public import IECJSON
public import IECLog

/// `am.json`: how iec-am runs. Realm settings (OAuth2 provider, IEC service,
/// keys) live in the store and are made by `iec-am setup`, not here.
///
/// Every key is documented in docs/configuration-am.md; unknown keys are errors.
public struct AMConfiguration: Sendable {
    public struct TLS: Sendable {
        public var certificateFile: String
        public var keyFile: String
    }

    /// Bind address; loopback unless told otherwise.
    public var host = "127.0.0.1"
    public var port = 8080
    public var threads = 4
    public var maxConnections = 1024
    public var maxHeaderBytes = 16 * 1024
    public var maxBodyBytes = 1024 * 1024
    public var connectionTimeout = 30
    public var tls: TLS?
    /// The base URL clients use to reach this server; issuers and endpoints derive from it.
    public var publicURL: String?
    /// `server.trusted_proxies`: reverse proxies whose `X-Forwarded-For` names the client.
    public var trustedProxies: [String] = []
    /// SQLite database path (the embedded default store); unused when `ldap` is set.
    public var sqlitePath = "data/iec-am.db"
    /// `store.ldap`: the directory store instead of SQLite.
    public var ldap: LDAP?

    /// `store.ldap`: an OpenLDAP directory with the schema of deploy/ldap/, shared by several iec-am.
    public struct LDAP: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
        public var url: String
        public var bindDN: String?
        /// `bind_password`; prefer `bind_password_file`. Never logged.
        public var bindPassword: String?
        /// Read when the store opens (first line, without its newline).
        public var bindPasswordFile: String?
        public var baseDN: String
        public var caFile: String?
        public var startTLS = false
        public var poolSize = 4
        public var timeoutSeconds: Double = 5

        public init(url: String, baseDN: String) {
            self.url = url
            self.baseDN = baseDN
        }

        /// Without the bind password.
        public var description: String {
            "store.ldap(url: \(url), bind_dn: \(bindDN ?? "anonymous"), base_dn: \(baseDN), start_tls: \(startTLS), pool_size: \(poolSize))"
        }

        public var debugDescription: String { description }
    }
    public var logLevel: LogLevel = .info
    public var accessLog = true
    /// The session cookie's name; AM's default, kept for compatibility.
    public var cookieName = "iPlanetDirectoryPro"
    public var adminSessionIdleTimeout: Double = 1800
    public var adminSessionMaxLifetime: Double = 7200
    /// Failed sign-ins allowed per account (and, ×4, per client address) in the window.
    public var failedLoginLimit = 5
    public var failedLoginWindow: Double = 300
    /// Wrong user codes allowed per client address in the window (RFC 8628 §5.1).
    public var userCodeAttemptLimit = 10
    public var userCodeAttemptWindow: Double = 300
    /// `ui.directory`: the Edge Identity Manager's files; nil: `defaultUIDirectory`.
    public var uiDirectory: String?

    public init() {}

    /// The URL this server is reached at: `public_url`, or one made from host and port.
    public var effectivePublicURL: String {
        if let publicURL { return publicURL }
        let scheme = tls == nil ? "http" : "https"
        let host = self.host == "0.0.0.0" || self.host == "::" ? "127.0.0.1" : self.host
        return "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// Reads and validates a configuration document. Relative paths are taken
    /// from `baseDirectory` (the configuration file's folder).
    public static func parse(_ bytes: [UInt8], source: String, baseDirectory: String) throws -> AMConfiguration {
        let root = try ConfigObject.parse(bytes, source: source)
        var config = AMConfiguration()
        func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : baseDirectory + "/" + path }
        if let server = try root.object("server") {
            config.host = try server.string("host", default: config.host)
            config.port = try server.int("port", default: config.port, in: 0...65535)
            config.threads = try server.int("threads", default: config.threads, in: 1...256)
            config.maxConnections = try server.int("max_connections", default: config.maxConnections, in: 1...100_000)
            config.maxHeaderBytes = try server.int("max_header_bytes", default: config.maxHeaderBytes, in: 1024...1_048_576)
            config.maxBodyBytes = try server.int("max_body_bytes", default: config.maxBodyBytes, in: 1024...67_108_864)
            config.connectionTimeout = try server.int("connection_timeout_seconds", default: config.connectionTimeout, in: 1...3600)
            config.publicURL = try server.nonEmptyString("public_url")
            if let url = config.publicURL, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                throw server.error("public_url", "expected an http:// or https:// URL")
            }
            config.trustedProxies = try server.stringArray("trusted_proxies") ?? []
            for (index, address) in config.trustedProxies.enumerated() where !ForwardedFor.isAddressLiteral(Substring(address)) {
                throw server.error("trusted_proxies[\(index)]", "expected an IPv4 or IPv6 address, got \"\(address)\"")
            }
            if let tls = try server.object("tls") {
                config.tls = TLS(
                    certificateFile: resolve(try tls.requiredString("certificate_file")), keyFile: resolve(try tls.requiredString("key_file")))
                try tls.finish()
            }
            try server.finish()
        }
        if let store = try root.object("store") {
            if let sqlite = try store.object("sqlite") {
                config.sqlitePath = resolve(try sqlite.string("path", default: config.sqlitePath))
                try sqlite.finish()
            } else {
                config.sqlitePath = resolve(config.sqlitePath)
            }
            if let ldap = try store.object("ldap") {
                guard !store.has("sqlite") else { throw store.error("ldap", "give either store.sqlite or store.ldap, not both") }
                let url = try ldap.requiredString("url")
                let lowered = url.lowercased()
                guard lowered.hasPrefix("ldap://") || lowered.hasPrefix("ldaps://") else {
                    throw ldap.error("url", "expected an ldap:// or ldaps:// URL")
                }
                guard let baseDN = try ldap.nonEmptyString("base_dn") else { throw ldap.error("base_dn", "required: the entry the store lives under") }
                var settings = LDAP(url: url, baseDN: baseDN)
                settings.bindDN = try ldap.nonEmptyString("bind_dn")
                settings.bindPassword = try ldap.string("bind_password")
                settings.bindPasswordFile = try ldap.nonEmptyString("bind_password_file").map(resolve)
                if settings.bindPassword != nil, settings.bindPasswordFile != nil {
                    throw ldap.error("bind_password_file", "give either bind_password or bind_password_file, not both")
                }
                if settings.bindDN == nil, settings.bindPassword != nil || settings.bindPasswordFile != nil {
                    throw ldap.error("bind_dn", "required with a bind password")
                }
                settings.caFile = try ldap.nonEmptyString("ca_file").map(resolve)
                settings.startTLS = try ldap.bool("start_tls", default: false)
                if settings.startTLS, lowered.hasPrefix("ldaps://") {
                    throw ldap.error("start_tls", "not with an ldaps:// URL, which is TLS already")
                }
                settings.poolSize = try ldap.int("pool_size", default: settings.poolSize, in: 1...256)
                settings.timeoutSeconds = try ldap.double("timeout_seconds", default: settings.timeoutSeconds, in: 0.1...300)
                try ldap.finish()
                config.ldap = settings
            }
            try store.finish()
        } else {
            config.sqlitePath = resolve(config.sqlitePath)
        }
        if let logging = try root.object("logging") {
            let level = try logging.choice("level", of: LogLevel.allCases.map(\.name), default: "info")
            config.logLevel = LogLevel.allCases.first { $0.name == level } ?? .info
            config.accessLog = try logging.bool("access_log", default: true)
            try logging.finish()
        }
        if let security = try root.object("security") {
            config.cookieName = try security.nonEmptyString("cookie_name") ?? config.cookieName
            guard config.cookieName.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw security.error("cookie_name", "letters, digits, '_' and '-' only")
            }
            config.adminSessionIdleTimeout = try security.double("admin_session_idle_timeout_seconds", default: config.adminSessionIdleTimeout, in: 60...86_400)
            config.adminSessionMaxLifetime = try security.double("admin_session_max_lifetime_seconds", default: config.adminSessionMaxLifetime, in: 60...604_800)
            config.failedLoginLimit = try security.int("failed_login_limit", default: config.failedLoginLimit, in: 1...1000)
            config.failedLoginWindow = try security.double("failed_login_window_seconds", default: config.failedLoginWindow, in: 1...86_400)
            config.userCodeAttemptLimit = try security.int("user_code_attempt_limit", default: config.userCodeAttemptLimit, in: 1...1000)
            config.userCodeAttemptWindow = try security.double("user_code_attempt_window_seconds", default: config.userCodeAttemptWindow, in: 1...86_400)
            try security.finish()
        }
        if let ui = try root.object("ui") {
            config.uiDirectory = try ui.nonEmptyString("directory").map(resolve)
            try ui.finish()
        }
        try root.finish()
        return config
    }
}
