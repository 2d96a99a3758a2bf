import Foundation
import HTTPClient
import Synchronization
import XCTest

/// End-to-end tests over real loopback sockets against `TestServer`.
final class HTTPClientTests: XCTestCase {
    private var servers: [TestServer] = []
    private var certificates: [TestCertificate] = []

    override func tearDown() {
        for server in servers {
            server.stop()
        }
        servers = []
        for certificate in certificates {
            certificate.remove()
        }
        certificates = []
        super.tearDown()
    }

    private func startServer(tls: TestCertificate? = nil) throws -> TestServer {
        let server = try TestServer(tls: tls.map { ($0.certificate, $0.key) })
        servers.append(server)
        return server
    }

    private func makeCertificate() throws -> TestCertificate {
        let certificate = try TestCertificate()
        certificates.append(certificate)
        return certificate
    }

    /// Runs `body`, expecting an `HTTPClientError` with `code`; returns it.
    @discardableResult
    private func assertFails(
        with code: HTTPClientError.Code,
        file: StaticString = #filePath,
        line: UInt = #line,
        _ body: () throws -> HTTPResponse
    ) -> HTTPClientError? {
        do {
            let response = try body()
            XCTFail("expected \(code), got status \(response.status)", file: file, line: line)
            return nil
        } catch let error as HTTPClientError {
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            return error
        } catch {
            XCTFail("expected HTTPClientError, got \(error)", file: file, line: line)
            return nil
        }
    }

    // MARK: - Responses

    func testGetReturnsStatusBodyAndHeaders() throws {
        let server = try startServer()
        let response = try HTTPClient().send(HTTPRequest(url: server.url("/hello")))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "hello, world")
        XCTAssertEqual(response.header("X-Test"), "yes")
        XCTAssertEqual(response.header("x-test"), "yes")
        XCTAssertEqual(response.header("CONTENT-TYPE"), "text/plain")
        XCTAssertEqual(response.header("Content-Length"), "12")
        XCTAssertNil(response.header("X-Missing"))
    }

    func testRepeatedHeaderFieldsAreAllKept() throws {
        let server = try startServer()
        let response = try HTTPClient().send(HTTPRequest(url: server.url("/multi")))
        XCTAssertEqual(response.headerValues("set-cookie"), ["a=1", "b=2"])
        XCTAssertEqual(response.header("Set-Cookie"), "a=1")
    }

    func testPostEchoesBodyAndCustomHeader() throws {
        let server = try startServer()
        let body = (0..<5000).map { UInt8(truncatingIfNeeded: $0) }  // binary, > curl's 1 KiB Expect threshold
        let response = try HTTPClient().send(HTTPRequest(
            method: "POST", url: server.url("/echo"), headers: [(name: "X-Custom", value: "value 1")], body: body))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, body)
        XCTAssertEqual(response.header("X-Method"), "POST")
        XCTAssertEqual(response.header("X-Echo-Custom"), "value 1")
        XCTAssertEqual(response.header("X-Content-Type"), "<none>", "no curl form-urlencoded default")
        XCTAssertEqual(response.header("X-Expect"), "<none>", "no 100-continue round trip")
        XCTAssertEqual(response.header("X-User-Agent"), "OpenIEC/0.1")
    }

    func testContentTypeAndUserAgentAreSentAsGiven() throws {
        let server = try startServer()
        let client = HTTPClient(configuration: .init(userAgent: "test-agent/1"))
        let response = try client.send(HTTPRequest(
            method: "POST", url: server.url("/echo"),
            headers: [("Content-Type", "application/json")], body: Array(#"{"a":1}"#.utf8)))
        XCTAssertEqual(response.header("X-Content-Type"), "application/json")
        XCTAssertEqual(response.header("X-User-Agent"), "test-agent/1")
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), #"{"a":1}"#)
    }

    func testOtherMethods() throws {
        let server = try startServer()
        let client = HTTPClient()
        let put = try client.send(HTTPRequest(method: "PUT", url: server.url("/echo"), body: Array("put body".utf8)))
        XCTAssertEqual(put.header("X-Method"), "PUT")
        XCTAssertEqual(put.body, Array("put body".utf8))
        let delete = try client.send(HTTPRequest(method: "DELETE", url: server.url("/echo")))
        XCTAssertEqual(delete.header("X-Method"), "DELETE")
        XCTAssertEqual(delete.body, [])
        let head = try client.send(HTTPRequest(method: "HEAD", url: server.url("/hello")))
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.body, [])
        XCTAssertEqual(head.header("Content-Length"), "12")
        let emptyPost = try client.send(HTTPRequest(method: "POST", url: server.url("/echo")))
        XCTAssertEqual(emptyPost.header("X-Method"), "POST")
        XCTAssertEqual(emptyPost.status, 200)
    }

    func testNotFoundIsAResponseNotAnError() throws {
        let server = try startServer()
        let response = try HTTPClient().send(HTTPRequest(url: server.url("/nothing-here")))
        XCTAssertEqual(response.status, 404)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "not found")
    }

    func testRedirectsAreNotFollowedByDefault() throws {
        let server = try startServer()
        let response = try HTTPClient().send(HTTPRequest(url: server.url("/redirect")))
        XCTAssertEqual(response.status, 302)
        XCTAssertEqual(response.header("Location"), "/hello")

        let following = HTTPClient(configuration: .init(followRedirects: true))
        let followed = try following.send(HTTPRequest(url: server.url("/redirect")))
        XCTAssertEqual(followed.status, 200)
        XCTAssertEqual(followed.header("X-Test"), "yes")
        XCTAssertNil(followed.header("Location"), "only the final response's headers")
    }

    // MARK: - Failures

    func testConnectionRefusedIsConnectionFailed() throws {
        let server = try startServer()
        let url = server.url("/hello")
        server.stop()
        assertFails(with: .connectionFailed) { try HTTPClient().send(HTTPRequest(url: url)) }
    }

    func testSlowServerTimesOut() throws {
        let server = try startServer()
        let started = ContinuousClock.now
        assertFails(with: .timedOut) {
            try HTTPClient().send(HTTPRequest(url: server.url("/slow?s=3"), timeout: .seconds(1)))
        }
        let elapsed = ContinuousClock.now - started
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(900))
        XCTAssertLessThan(elapsed, .milliseconds(2500))
    }

    func testResponseLargerThanLimitIsRefused() throws {
        let server = try startServer()
        let client = HTTPClient(configuration: .init(maxResponseBytes: 1000))
        // At the limit: fine.
        XCTAssertEqual(try client.send(HTTPRequest(url: server.url("/big?n=1000"))).body.count, 1000)
        // Content-Length over the limit: refused before the body is read.
        assertFails(with: .responseTooLarge) { try client.send(HTTPRequest(url: server.url("/big?n=1001"))) }
        // No Content-Length (chunked): the write callback aborts.
        assertFails(with: .responseTooLarge) { try client.send(HTTPRequest(url: server.url("/big-chunked?n=50000"))) }
        // The default limit is 1 MiB.
        assertFails(with: .responseTooLarge) {
            try HTTPClient().send(HTTPRequest(url: server.url("/big-chunked?n=\((1 << 20) + 1)")))
        }
        // The client still works afterwards (handles are reused).
        XCTAssertEqual(try client.send(HTTPRequest(url: server.url("/hello"))).status, 200)
    }

    func testOnlyHTTPAndHTTPSSchemesAreAllowed() throws {
        let client = HTTPClient()
        for url in [
            "file:///etc/passwd", "FILE:///etc/passwd", "ftp://127.0.0.1/", "ftp://", "gopher://127.0.0.1/",
            "dict://127.0.0.1/", "telnet://127.0.0.1:23", "ldap://127.0.0.1/", "smtp://127.0.0.1/", "scp://h/x",
        ] {
            let error = assertFails(with: .unsupportedScheme) { try client.send(HTTPRequest(url: url)) }
            XCTAssertTrue(error?.description.contains("unsupported URL scheme") ?? false, url)
        }
    }

    func testInvalidURLs() throws {
        let client = HTTPClient()
        for url in ["", "not a url", "http://", "http://exa mple.com/", "http://[::1/", "//127.0.0.1/x",
                    "http://127.0.0.1:99999/", "http://a\u{0}b/", "http://bad\r\nhost/"] {
            assertFails(with: .invalidURL) { try client.send(HTTPRequest(url: url)) }
        }
    }

    func testMalformedMethodOrHeadersAreRefused() throws {
        let server = try startServer()
        let client = HTTPClient()
        let url = server.url("/echo")
        assertFails(with: .invalidRequest) { try client.send(HTTPRequest(method: "GE T", url: url)) }
        assertFails(with: .invalidRequest) { try client.send(HTTPRequest(method: "", url: url)) }
        assertFails(with: .invalidRequest) { try client.send(HTTPRequest(method: "HEAD", url: url, body: [1])) }
        assertFails(with: .invalidRequest) {
            try client.send(HTTPRequest(url: url, headers: [("X-Custom", "a\r\nX-Injected: 1")]))
        }
        assertFails(with: .invalidRequest) { try client.send(HTTPRequest(url: url, headers: [("Bad Name", "v")])) }
        assertFails(with: .invalidRequest) {
            try HTTPClient(configuration: .init(userAgent: "a\nb")).send(HTTPRequest(url: url))
        }
    }

    func testErrorDescriptionNamesURLButNoSecrets() throws {
        let server = try startServer()
        let url = server.url("/hello").replacingOccurrences(of: "://", with: "://alice:hunter2@") + "?token=abc123"
        server.stop()
        let error = assertFails(with: .connectionFailed) {
            try HTTPClient().send(HTTPRequest(
                method: "POST", url: url, headers: [("Authorization", "Bearer sekrit-token")],
                body: Array("password=pa55".utf8)))
        }
        let description = try XCTUnwrap(error).description
        XCTAssertTrue(description.contains("http://127.0.0.1:\(server.port)/hello?…"), description)
        for secret in ["hunter2", "alice", "abc123", "sekrit", "pa55"] {
            XCTAssertFalse(description.contains(secret), "\(secret) leaked: \(description)")
        }
    }

    // MARK: - Concurrency

    func testConcurrentRequestsFromSeveralThreads() throws {
        let server = try startServer()
        let client = HTTPClient()
        let tally = Tally()
        let url = server.url("/echo")
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for request in 0..<10 {
                let body = Array("thread \(thread) request \(request)".utf8)
                do {
                    let response = try client.send(HTTPRequest(method: "POST", url: url, body: body))
                    if response.status == 200 && response.body == body {
                        tally.successes.add(1, ordering: .relaxed)
                    } else {
                        tally.failures.withLock { $0.append("\(thread)/\(request): status \(response.status)") }
                    }
                } catch {
                    tally.failures.withLock { $0.append("\(thread)/\(request): \(error)") }
                }
            }
        }
        XCTAssertEqual(tally.failures.withLock { $0 }, [])
        XCTAssertEqual(tally.successes.load(ordering: .relaxed), 80)
    }

    /// Outcomes collected from several threads.
    private final class Tally: Sendable {
        let failures = Mutex<[String]>([])
        let successes = Atomic<Int>(0)
    }

    // MARK: - TLS

    func testHTTPSWithUntrustedCertificateIsTLSFailure() throws {
        let certificate = try makeCertificate()
        let server = try startServer(tls: certificate)
        assertFails(with: .tlsFailure) {
            try HTTPClient().send(HTTPRequest(url: server.url("/hello", scheme: "https")))
        }
    }

    func testHTTPSWithCAFileSucceeds() throws {
        let certificate = try makeCertificate()
        let server = try startServer(tls: certificate)
        let client = HTTPClient(configuration: .init(caFile: certificate.certificate))
        let response = try client.send(HTTPRequest(url: server.url("/hello", scheme: "https")))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "hello, world")
    }

    func testHTTPSHostNameMismatchIsTLSFailure() throws {
        let certificate = try makeCertificate()  // valid for IP:127.0.0.1 only
        let server = try startServer(tls: certificate)
        let client = HTTPClient(configuration: .init(caFile: certificate.certificate))
        assertFails(with: .tlsFailure) {
            try client.send(HTTPRequest(url: server.url("/hello", scheme: "https", host: "localhost")))
        }
    }

    func testMissingCAFileIsTLSFailure() throws {
        let certificate = try makeCertificate()
        let server = try startServer(tls: certificate)
        let client = HTTPClient(configuration: .init(caFile: certificate.directory + "/missing.pem"))
        assertFails(with: .tlsFailure) {
            try client.send(HTTPRequest(url: server.url("/hello", scheme: "https")))
        }
    }
}
