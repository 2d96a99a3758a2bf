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
        expectError(#"{"unknown": true}"#, path: "unknown", containing: "unknown key")
        expectError(#"[]"#, path: "", containing: "JSON object")
        expectError(#"{"server": "#, path: "", containing: "invalid JSON")
    }
}
