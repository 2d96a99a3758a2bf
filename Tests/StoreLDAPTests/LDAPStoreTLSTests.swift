import Foundation
import Store
import StoreLDAP
import XCTest

/// ldaps:// and StartTLS with a CA file: a private CA and a certificate for
/// 127.0.0.1 made with the openssl command, slapd serving both.
final class LDAPStoreTLSTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("iec-ldap-tls-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func openssl(_ arguments: String) throws {
        _ = try SlapdServer.run(in: folder, "/usr/bin/openssl", arguments.split(separator: " ").map(String.init))
    }

    /// A CA and a server certificate it signs; returns the CA file.
    private func makeCertificates(name: String) throws -> (ca: String, cert: String, key: String) {
        let path = folder.path + "/" + name
        try openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout \(path)-ca.key -out \(path)-ca.pem -days 2 -subj /CN=test-ca-\(name)")
        try openssl("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout \(path).key -out \(path).csr -subj /CN=127.0.0.1")
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: "\(path).ext", atomically: true, encoding: .utf8)
        try openssl("x509 -req -in \(path).csr -CA \(path)-ca.pem -CAkey \(path)-ca.key -CAcreateserial -out \(path).pem -days 2 -extfile \(path).ext")
        return ("\(path)-ca.pem", "\(path).pem", "\(path).key")
    }

    private func options(_ url: String, caFile: String, startTLS: Bool) -> LDAPStoreOptions {
        LDAPStoreOptions(
            url: url, bindDN: SlapdServer.adminDN, bindPassword: SlapdServer.adminPassword, baseDN: "ou=tls,dc=iec,dc=test", caFile: caFile,
            startTLS: startTLS, poolSize: 2, timeout: 5)
    }

    func testLDAPSAndStartTLSWithACAFile() throws {
        let good = try makeCertificates(name: "good")
        let other = try makeCertificates(name: "other")
        let ldapsPort = try SlapdServer.freePort()
        let server = try SlapdServer(extraArguments: ["--tls-cert", good.cert, "--tls-key", good.key, "--ldaps-port", "\(ldapsPort)"])
        let ldaps = "ldaps://127.0.0.1:\(ldapsPort)/"

        let overLDAPS = try LDAPStore(options: options(ldaps, caFile: good.ca, startTLS: false))
        try overLDAPS.putRealm(RealmRecord(name: "edge", settings: ["tls": true], createdAt: 1, updatedAt: 1))
        let overStartTLS = try LDAPStore(options: options(server.url, caFile: good.ca, startTLS: true))
        XCTAssertEqual(try overStartTLS.realm(named: "edge")?.settings, ["tls": true])

        for (url, startTLS) in [(ldaps, false), (server.url, true)] {
            do {
                _ = try LDAPStore(options: options(url, caFile: other.ca, startTLS: startTLS))
                XCTFail("\(url) accepted a certificate its CA file does not vouch for")
            } catch let error as StoreError {
                XCTAssertEqual(error.kind, .unavailable, "\(error)")
                XCTAssertTrue(error.reason.contains(url), error.reason)
            }
        }
    }
}
