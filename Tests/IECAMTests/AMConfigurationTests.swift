import IECAM
import IECConfig
import XCTest

/// Configuration fixtures come in good/bad pairs; bad ones name the full key path.
final class AMConfigurationTests: XCTestCase {
    func parse(_ text: String) throws -> AMConfiguration {
        try AMConfiguration.parse(Array(text.utf8), source: "am.json", baseDirectory: "/etc/iec")
    }

    func expectError(_ text: String, path: String, containing fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: line) { error in
            guard let error = error as? ConfigError else { return XCTFail("not a ConfigError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.path, path, "\(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains(fragment), "\(error)", file: file, line: line)
        }
    }

    func testDefaultsAndGoodFile() throws {
        let empty = try parse("{}")
        XCTAssertEqual(empty.host, "127.0.0.1", "loopback unless told otherwise")
        XCTAssertEqual(empty.port, 8080)
        XCTAssertEqual(empty.sqlitePath, "/etc/iec/data/iec-am.db")
        XCTAssertEqual(empty.cookieName, "iPlanetDirectoryPro")
        XCTAssertEqual(empty.effectivePublicURL, "http://127.0.0.1:8080")

        let full = try parse("""
            {"server": {"host": "0.0.0.0", "port": 9443, "threads": 8, "public_url": "https://am.example.com",
                        "tls": {"certificate_file": "tls/cert.pem", "key_file": "/keys/key.pem"}},
             "store": {"sqlite": {"path": "/var/lib/iec/am.db"}},
             "logging": {"level": "debug", "access_log": false},
             "security": {"failed_login_limit": 3}}
            """)
        XCTAssertEqual(full.port, 9443)
        XCTAssertEqual(full.tls?.certificateFile, "/etc/iec/tls/cert.pem")
        XCTAssertEqual(full.tls?.keyFile, "/keys/key.pem")
        XCTAssertEqual(full.sqlitePath, "/var/lib/iec/am.db")
        XCTAssertEqual(full.effectivePublicURL, "https://am.example.com")
        XCTAssertEqual(full.failedLoginLimit, 3)
        XCTAssertFalse(full.accessLog)
        XCTAssertEqual(empty.trustedProxies, [], "no proxy is trusted unless named")
        XCTAssertEqual(try parse(#"{"server": {"trusted_proxies": ["10.0.0.5", "::1"]}}"#).trustedProxies, ["10.0.0.5", "::1"])
    }

    func testBadFilesNameTheKey() {
        expectError(#"{"server": {"prot": 8080}}"#, path: "server.prot", containing: "did you mean \"port\"")
        expectError(#"{"server": {"port": "8080"}}"#, path: "server.port", containing: "expected an integer")
        expectError(#"{"server": {"port": 70000}}"#, path: "server.port", containing: "got 70000")
        expectError(#"{"server": {"tls": {"certificate_file": "c.pem"}}}"#, path: "server.tls.key_file", containing: "required")
        expectError(#"{"server": {"public_url": "ftp://x"}}"#, path: "server.public_url", containing: "http")
        expectError(#"{"logging": {"level": "loud"}}"#, path: "logging.level", containing: "one of")
        expectError(#"{"store": {"sqlite": {"path": 5}}}"#, path: "store.sqlite.path", containing: "string")
        expectError(#"{"security": {"cookie_name": "a b"}}"#, path: "security.cookie_name", containing: "letters")
        expectError(#"{"server": {"trusted_proxies": ["10.0.0.5", "nginx.local"]}}"#, path: "server.trusted_proxies[1]",
                    containing: "IPv4 or IPv6 address")
        expectError(#"{"server": {"trusted_proxies": "10.0.0.5"}}"#, path: "server.trusted_proxies", containing: "array")
        expectError(#"{"unknown": true}"#, path: "unknown", containing: "unknown key")
        expectError(#"[]"#, path: "", containing: "JSON object")
        expectError(#"{"server": "#, path: "", containing: "invalid JSON")
    }

    func testLDAPStoreGoodFile() throws {
        let config = try parse("""
            {"store": {"ldap": {"url": "ldaps://ds.example.com:636/", "bind_dn": "cn=iec-am,ou=apps,dc=example,dc=com",
                                "bind_password_file": "secrets/ldap.password", "base_dn": "ou=iec,dc=example,dc=com",
                                "ca_file": "/etc/ssl/ds-ca.pem", "pool_size": 8, "timeout_seconds": 2.5}}}
            """)
        let ldap = try XCTUnwrap(config.ldap)
        XCTAssertEqual(ldap.url, "ldaps://ds.example.com:636/")
        XCTAssertEqual(ldap.bindDN, "cn=iec-am,ou=apps,dc=example,dc=com")
        XCTAssertEqual(ldap.bindPasswordFile, "/etc/iec/secrets/ldap.password", "relative to the configuration file")
        XCTAssertNil(ldap.bindPassword)
        XCTAssertEqual(ldap.baseDN, "ou=iec,dc=example,dc=com")
        XCTAssertEqual(ldap.caFile, "/etc/ssl/ds-ca.pem")
        XCTAssertFalse(ldap.startTLS)
        XCTAssertEqual(ldap.poolSize, 8)
        XCTAssertEqual(ldap.timeoutSeconds, 2.5)

        let minimal = try XCTUnwrap(try parse(#"{"store": {"ldap": {"url": "ldap://127.0.0.1:3890/", "base_dn": "dc=iec,dc=test", "start_tls": true}}}"#).ldap)
        XCTAssertEqual(minimal.poolSize, 4)
        XCTAssertEqual(minimal.timeoutSeconds, 5)
        XCTAssertTrue(minimal.startTLS)
        XCTAssertNil(minimal.bindDN)
        XCTAssertNil(try parse("{}").ldap, "SQLite unless store.ldap is given")

        let inline = try XCTUnwrap(try parse(#"{"store": {"ldap": {"url": "ldap://x/", "base_dn": "dc=x", "bind_dn": "cn=a", "bind_password": "s3cr3t-pw"}}}"#).ldap)
        XCTAssertEqual(inline.bindPassword, "s3cr3t-pw")
        for shown in ["\(inline)", String(reflecting: inline), "\(String(describing: Optional(inline)))"] {
            XCTAssertFalse(shown.contains("s3cr3t-pw"), shown)
        }
    }

    func testLDAPStoreBadFilesNameTheKey() {
        let base = #""url": "ldap://127.0.0.1:3890/", "base_dn": "dc=iec,dc=test""#
        expectError(#"{"store": {"ldap": {"base_dn": "dc=x"}}}"#, path: "store.ldap.url", containing: "required")
        expectError(#"{"store": {"ldap": {"url": "http://x/", "base_dn": "dc=x"}}}"#, path: "store.ldap.url", containing: "ldap://")
        expectError(#"{"store": {"ldap": {"url": "ldap://x/"}}}"#, path: "store.ldap.base_dn", containing: "required")
        expectError(#"{"store": {"ldap": {\#(base), "bindDN": "cn=x"}}}"#, path: "store.ldap.bindDN", containing: "unknown key")
        expectError(#"{"store": {"ldap": {\#(base), "pool_size": 0}}}"#, path: "store.ldap.pool_size", containing: "got 0")
        expectError(#"{"store": {"ldap": {\#(base), "timeout_seconds": 0}}}"#, path: "store.ldap.timeout_seconds", containing: "0")
        expectError(#"{"store": {"ldap": {\#(base), "start_tls": "yes"}}}"#, path: "store.ldap.start_tls", containing: "true or false")
        expectError(
            #"{"store": {"ldap": {\#(base), "bind_dn": "cn=a", "bind_password": "p", "bind_password_file": "f"}}}"#,
            path: "store.ldap.bind_password_file", containing: "not both")
        expectError(#"{"store": {"ldap": {\#(base), "bind_password": "p"}}}"#, path: "store.ldap.bind_dn", containing: "required")
        expectError(
            #"{"store": {"ldap": {"url": "ldaps://x/", "base_dn": "dc=x", "start_tls": true}}}"#, path: "store.ldap.start_tls",
            containing: "ldaps://")
        expectError(#"{"store": {"sqlite": {}, "ldap": {\#(base)}}}"#, path: "store.ldap", containing: "not both")
    }
}
