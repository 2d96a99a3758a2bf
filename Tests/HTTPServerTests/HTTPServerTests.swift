import Foundation
import HTTPClient
@testable import HTTPServer
import IECJSON
import IECLog
import Synchronization
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// End-to-end over real loopback sockets: HTTPServer on port 0, HTTPClient (libcurl),
/// the `curl` command and raw sockets as clients.
final class HTTPServerTests: XCTestCase {
    private var servers: [TestHTTPServer] = []
    private let client = HTTPClient()

    override func tearDown() {
        for server in servers { server.stop() }
        servers = []
        super.tearDown()
    }

    private func start(_ router: Router, configure: (inout HTTPServerConfiguration) -> Void = { _ in }) throws -> TestHTTPServer {
        let server = try TestHTTPServer(router, configure: configure)
        servers.append(server)
        return server
    }

    private func get(_ url: String, headers: [(name: String, value: String)] = []) throws -> HTTPResponse {
        try client.send(HTTPRequest(url: url, headers: headers))
    }

    private func post(_ url: String, contentType: String, _ body: String) throws -> HTTPResponse {
        try client.send(HTTPRequest(method: "POST", url: url, headers: [(name: "Content-Type", value: contentType)],
                                    body: Array(body.utf8)))
    }

    private static func demoRouter() -> Router {
        var router = Router()
        router.get("/hello") { _ in .text("hello, world") }
        router.get("/realms/{realm}/clients/{id}") { request in
            .json(["realm": .string(request.pathParameters["realm"] ?? ""), "id": .string(request.pathParameters["id"] ?? ""),
                   "query": .string(request.query["q"] ?? "")])
        }
        router.post("/realms/{realm}/clients/{id}") { _ in .text("created", status: 201) }
        router.post("/echo") { request in .json(try request.jsonBody()) }
        router.post("/form") { request in
            guard let values = request.formParameterValues() else {
                throw HTTPError(status: 415, message: "expected a form")
            }
            if let repeated = values.first(where: { $0.value.count > 1 }) {
                throw HTTPError(status: 400, message: "parameter \(repeated.key) is repeated")
            }
            return .json(.object(values.mapValues { .string($0[0]) }))
        }
        router.post("/upload") { request in .text("\(request.body.count)") }
        router.get("/whoami") { request in
            .json(["remote": .string(request.remoteAddress), "secure": .bool(request.isSecure), "id": .string(request.requestID)])
        }
        router.get("/denied") { _ in
            throw HTTPError(status: 401, message: "client authentication failed",
                            headers: [(name: "WWW-Authenticate", value: "Basic realm=\"edge\"")])
        }
        router.get("/crash") { _ in throw CocoaError(.fileNoSuchFile) }
        router.get("/bad-header") { _ in HTTPServerResponse(status: 200, headers: [(name: "X-Evil", value: "a\r\nSet-Cookie: x=1")]) }
        router.get("/bad-status") { _ in HTTPServerResponse(status: 42) }
        router.get("/slow") { _ in
            usleep(500_000)
            return .text("finally")
        }
        return router
    }

    // MARK: - Routing

    func testRoutesNotFoundMethodNotAllowedHeadAndOptions() throws {
        let server = try start(Self.demoRouter())
        let hello = try get(server.url("/hello"))
        XCTAssertEqual(hello.status, 200)
        XCTAssertEqual(hello.text, "hello, world")
        XCTAssertEqual(hello.header("content-type"), "text/plain; charset=utf-8")

        let routed = try get(server.url("/realms/edge/clients/a%20b?q=x+y"))
        XCTAssertEqual(try routed.json(), ["realm": "edge", "id": "a b", "query": "x y"])
        XCTAssertEqual(try client.send(HTTPRequest(method: "POST", url: server.url("/realms/edge/clients/c"))).status, 201)

        let missing = try get(server.url("/nothing"))
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.header("content-type"), "application/json")
        XCTAssertEqual(try missing.json()["reason"], "Not Found")

        let wrong = try sendMethod( "DELETE", server.url("/hello"))
        XCTAssertEqual(wrong.status, 405)
        XCTAssertEqual(wrong.header("allow"), "GET, HEAD, OPTIONS")
        XCTAssertEqual(try wrong.json()["code"], 405)

        let head = try sendMethod( "HEAD", server.url("/hello"))
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("content-length"), "12", "HEAD carries the GET's length")
        XCTAssertTrue(head.body.isEmpty)

        let options = try sendMethod( "OPTIONS", server.url("/realms/edge/clients/c"))
        XCTAssertEqual(options.status, 204)
        XCTAssertEqual(options.header("allow"), "GET, HEAD, OPTIONS, POST")

        // curl sees no body after a HEAD response either (it would complain of excess data).
        let curl = try runCommand("curl", ["-sS", "-I", server.url("/hello")])
        XCTAssertEqual(curl.status, 0)
        XCTAssertTrue(curl.output.contains("Content-Length: 12"), curl.output)
    }

    private func sendMethod(_ method: String, _ url: String) throws -> HTTPResponse {
        try client.send(HTTPRequest(method: method, url: url))
    }

    // MARK: - Bodies

    func testJSONEchoAndContentTypes() throws {
        let server = try start(Self.demoRouter())
        let document = #"{"list":[1,2.5,"three",null,true],"nested":{"é":"ü"}}"#
        let echo = try post(server.url("/echo"), contentType: "application/json; charset=utf-8", document)
        XCTAssertEqual(echo.status, 200)
        XCTAssertEqual(echo.header("content-type"), "application/json")
        XCTAssertEqual(echo.header("cache-control"), "no-store")
        XCTAssertEqual(try echo.json(), try JSONValue.parse(document))

        let wrongType = try post(server.url("/echo"), contentType: "text/plain", document)
        XCTAssertEqual(wrongType.status, 415)
        XCTAssertEqual(try wrongType.json()["reason"], "Unsupported Media Type")

        let malformed = try post(server.url("/echo"), contentType: "application/json", #"{"a":"#)
        XCTAssertEqual(malformed.status, 400)
        XCTAssertTrue(try malformed.json()["message"]?.stringValue?.contains("not valid JSON") == true)
    }

    func testFormParsingOverTheWire() throws {
        let server = try start(Self.demoRouter())
        let form = try post(server.url("/form"), contentType: "application/x-www-form-urlencoded",
                            "grant_type=client_credentials&scope=read+write%3Aall&client_id=edge%2Fdevice")
        XCTAssertEqual(form.status, 200)
        XCTAssertEqual(try form.json(), ["grant_type": "client_credentials", "scope": "read write:all", "client_id": "edge/device"])

        let repeated = try post(server.url("/form"), contentType: "application/x-www-form-urlencoded", "scope=a&scope=b")
        XCTAssertEqual(repeated.status, 400)
        XCTAssertEqual(try repeated.json()["message"], "parameter scope is repeated")
    }

    func testBodyLimit() throws {
        let server = try start(Self.demoRouter()) { $0.maxBodyBytes = 64 * 1024 }
        let atLimit = try client.send(HTTPRequest(method: "POST", url: server.url("/upload"), body: [UInt8](repeating: 7, count: 64 * 1024)))
        XCTAssertEqual(atLimit.status, 200)
        XCTAssertEqual(atLimit.text, "65536")

        // Content-Length over the limit: refused up front (curl's Expect: 100-continue is never answered).
        let over = try client.send(HTTPRequest(method: "POST", url: server.url("/upload"), body: [UInt8](repeating: 7, count: 64 * 1024 + 1)))
        XCTAssertEqual(over.status, 413)
        XCTAssertEqual(over.header("connection"), "close")
        XCTAssertEqual(try over.json()["code"], 413)

        let huge = try client.send(HTTPRequest(method: "POST", url: server.url("/upload"), body: [UInt8](repeating: 7, count: 4 << 20)))
        XCTAssertEqual(huge.status, 413)

        // A chunked body has no length to check: it is refused once it goes past the limit.
        let raw = try RawConnection(port: server.port)
        raw.write("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = "4000\r\n" + String(repeating: "c", count: 0x4000) + "\r\n"
        for _ in 0..<5 { raw.write(chunk) }
        raw.write("0\r\n\r\n")
        let answer = raw.readAll()
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 413 "), answer)
        XCTAssertTrue(answer.contains("Connection: close"), answer)

        // The server goes on serving.
        XCTAssertEqual(try get(server.url("/hello")).status, 200)
    }

    func testOversizedHeadersAreRefused() throws {
        let server = try start(Self.demoRouter()) { $0.maxHeaderBytes = 8 * 1024 }
        let fits = try get(server.url("/hello"), headers: [(name: "X-Filler", value: String(repeating: "f", count: 6 * 1024))])
        XCTAssertEqual(fits.status, 200)

        let over = try get(server.url("/hello"), headers: [(name: "X-Filler", value: String(repeating: "f", count: 10 * 1024))])
        XCTAssertEqual(over.status, 431)
        XCTAssertEqual(over.header("connection"), "close")
        XCTAssertEqual(try over.json()["code"], 431)

        // Far past the limit libmicrohttpd answers by itself (431, short HTML) and closes.
        let raw = try RawConnection(port: server.port)
        raw.write("GET /hello HTTP/1.1\r\nHost: x\r\nX-Filler: \(String(repeating: "f", count: 64 * 1024))\r\n\r\n")
        let answer = raw.readAll()
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 431 "), String(answer.prefix(200)))

        XCTAssertEqual(try get(server.url("/hello")).status, 200)
    }

    // MARK: - Errors

    func testHTTPErrorBecomesJSON() throws {
        let server = try start(Self.demoRouter())
        let denied = try get(server.url("/denied"))
        XCTAssertEqual(denied.status, 401)
        XCTAssertEqual(denied.header("www-authenticate"), "Basic realm=\"edge\"")
        XCTAssertEqual(try denied.json(), ["code": 401, "reason": "Unauthorized", "message": "client authentication failed"])
    }

    func testOtherErrorsAre500AndTheServerKeepsServing() throws {
        let server = try start(Self.demoRouter())
        for _ in 0..<3 {
            let crash = try get(server.url("/crash"))
            XCTAssertEqual(crash.status, 500)
            XCTAssertEqual(try crash.json()["message"], "internal server error", "no internals are sent")
            XCTAssertEqual(try get(server.url("/hello")).status, 200)
        }
        XCTAssertTrue(server.sink.lines.contains { $0.contains("error http: request handler failed") && $0.contains("CocoaError") })

        let badHeader = try get(server.url("/bad-header"))
        XCTAssertEqual(badHeader.status, 500, "a header with CR/LF is never sent")
        XCTAssertNil(badHeader.header("set-cookie"))
        XCTAssertEqual(try get(server.url("/bad-status")).status, 500)
        XCTAssertTrue(server.sink.lines.contains { $0.contains("handler returned an invalid response") })
    }

    func testMalformedRequestsAndNoLeakedState() throws {
        let server = try start(Self.demoRouter())
        do {
            let garbage = try RawConnection(port: server.port)
            garbage.write("GET /hello HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n")
            XCTAssertTrue(garbage.readAll().hasPrefix("HTTP/1.1 400 "))
            let aborted = try RawConnection(port: server.port)
            aborted.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part")
        }
        XCTAssertEqual(try get(server.url("/hello")).status, 200)
        server.stop()
        #if DEBUG
        XCTAssertEqual(RequestContext.live.load(ordering: .relaxed), 0, "every request's state is released")
        #endif
        XCTAssertEqual(server.server.requestsInFlight, 0)
    }

    // MARK: - Request ids and the access log

    func testRequestIDsAndAccessLog() throws {
        let server = try start(Self.demoRouter())
        let echoed = try get(server.url("/whoami"), headers: [(name: "X-Request-ID", value: "trace-42.a_b")])
        XCTAssertEqual(echoed.header("x-request-id"), "trace-42.a_b")
        XCTAssertEqual(try echoed.json()["id"], "trace-42.a_b")
        XCTAssertEqual(try echoed.json()["remote"], "127.0.0.1")
        XCTAssertEqual(try echoed.json()["secure"], false)

        let replaced = try get(server.url("/whoami"), headers: [(name: "X-Request-ID", value: "not a token!")])
        let generated = try XCTUnwrap(replaced.header("x-request-id"))
        XCTAssertEqual(generated.count, 16)
        XCTAssertNotEqual(generated, "not a token!")
        let tooLong = try get(server.url("/hello"), headers: [(name: "X-Request-ID", value: String(repeating: "a", count: 65))])
        XCTAssertEqual(tooLong.header("x-request-id")?.count, 16)
        XCTAssertNotNil(try get(server.url("/nothing")).header("x-request-id"), "errors carry one too")

        let secret = try get(server.url("/realms/edge/clients/c1?client_secret=hunter2"), headers: [
            (name: "Authorization", value: "Bearer sekrit-token"), (name: "Cookie", value: "iPlanetDirectoryPro=sekrit-session"),
            (name: "X-Request-ID", value: "log-check"),
        ])
        XCTAssertEqual(secret.status, 200)
        let lines = server.sink.lines
        let line = try XCTUnwrap(lines.first { $0.contains("request_id=log-check") })
        XCTAssertTrue(line.contains("info http: request method=GET path=/realms/edge/clients/c1 status=200 duration_ms="), line)
        XCTAssertTrue(line.contains("bytes=") && line.contains("remote=127.0.0.1"), line)
        for forbidden in ["hunter2", "client_secret", "sekrit"] {
            XCTAssertFalse(lines.contains { $0.contains(forbidden) }, "\(forbidden) reached the log")
        }
    }

    // MARK: - Connections

    func testKeepAliveReusesOneConnection() throws {
        let server = try start(Self.demoRouter())
        // 100 requests, one after another, on one raw TCP connection.
        let raw = try RawConnection(port: server.port)
        for index in 0..<100 {
            XCTAssertTrue(raw.write("GET /realms/r/clients/\(index) HTTP/1.1\r\nHost: x\r\n\r\n"))
            let response = try XCTUnwrap(raw.readResponse(), "response \(index)")
            XCTAssertTrue(response.hasPrefix("HTTP/1.1 200 OK"), response)
            XCTAssertTrue(response.contains("\"id\":\"\(index)\""), response)
            XCTAssertFalse(response.lowercased().contains("connection: close"))
        }
        // curl: one connect for ten transfers.
        let transfers = (0..<10).flatMap { [server.url("/hello?n=\($0)"), "-o", "/dev/null"] }
        let curl = try runCommand("curl", ["-s", "-w", "%{num_connects} "] + transfers)
        XCTAssertEqual(curl.output.split(separator: " "), ["1"] + Array(repeating: "0", count: 9), curl.output)
        // And many through one HTTPClient.
        for index in 0..<200 {
            XCTAssertEqual(try get(server.url("/realms/r/clients/\(index)")).status, 200)
        }
    }

    func testIdleConnectionsTimeOut() throws {
        let server = try start(Self.demoRouter()) { $0.connectionTimeout = 1 }
        let raw = try RawConnection(port: server.port, timeout: 5)
        raw.write("GET /hello HTTP/1.1\r\nHost: x\r\n")  // the header never ends
        let began = Date()
        XCTAssertEqual(raw.readAll(), "", "closed without an answer")
        let waited = Date().timeIntervalSince(began)
        XCTAssertGreaterThan(waited, 0.5)
        XCTAssertLessThan(waited, 3.5)
    }

    func testConnectionLimit() throws {
        let server = try start(Self.demoRouter()) {
            $0.threads = 1
            $0.maxConnections = 2
        }
        let first = try RawConnection(port: server.port)
        let second = try RawConnection(port: server.port)
        XCTAssertTrue(first.write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertTrue(first.readResponse()?.hasPrefix("HTTP/1.1 200") == true)
        XCTAssertTrue(second.write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertTrue(second.readResponse()?.hasPrefix("HTTP/1.1 200") == true)
        // A third connection waits in the kernel's backlog: libmicrohttpd stops
        // accepting at the limit...
        let third = try RawConnection(port: server.port, timeout: 0.3)
        third.write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertNil(third.readResponse())
        // ...until a connection closes.
        _ = consume first
        XCTAssertTrue(third.readResponse()?.hasPrefix("HTTP/1.1 200") == true)
    }

    func testConcurrentClients() throws {
        let server = try start(Self.demoRouter())
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            let client = HTTPClient()
            for index in 0..<50 {
                do {
                    let response = try client.send(HTTPRequest(url: server.url("/realms/t\(thread)/clients/\(index)")))
                    let body = try JSONValue.parse(response.body)
                    if response.status != 200 || body["realm"] != .string("t\(thread)") || body["id"] != .string("\(index)") {
                        failures.withLock { $0.append("thread \(thread) #\(index): \(response.status)") }
                    }
                } catch {
                    failures.withLock { $0.append("thread \(thread) #\(index): \(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let metrics = server.server.metrics.renderPrometheus()
        XCTAssertTrue(metrics.contains(#"iec_http_requests_total{route="/realms/{realm}/clients/{id}",method="GET",status="200"} 400"#), metrics)
    }

    func testMetricsText() throws {
        var router = Self.demoRouter()
        let metrics = Mutex<HTTPMetrics?>(nil)
        router.get("/metrics") { _ in
            .text(metrics.withLock { $0 }?.renderPrometheus() ?? "", contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        let server = try start(router)
        metrics.withLock { $0 = server.server.metrics }
        _ = try get(server.url("/realms/edge/clients/1"))
        _ = try get(server.url("/realms/edge/clients/2"))
        _ = try get(server.url("/denied"))
        _ = try get(server.url("/no/such/path/\(UUID().uuidString)"))
        _ = try sendMethod( "PATCH", server.url("/hello"))
        let response = try get(server.url("/metrics"))
        XCTAssertEqual(response.status, 200)
        let text = response.text
        XCTAssertTrue(text.contains(#"iec_http_requests_total{route="/realms/{realm}/clients/{id}",method="GET",status="200"} 2"#), text)
        XCTAssertTrue(text.contains(#"iec_http_requests_total{route="/denied",method="GET",status="401"} 1"#), text)
        XCTAssertTrue(text.contains(#"iec_http_requests_total{route="unmatched",method="GET",status="404"} 1"#), text)
        XCTAssertTrue(text.contains(#"iec_http_requests_total{route="/hello",method="PATCH",status="405"} 1"#), text)
        XCTAssertTrue(text.contains(#"iec_http_request_duration_seconds_count{route="/realms/{realm}/clients/{id}"} 2"#), text)
        XCTAssertTrue(text.contains(#"iec_http_request_duration_seconds_bucket{route="/denied",le="+Inf"} 1"#), text)
        XCTAssertTrue(text.contains("iec_http_requests_in_flight 1\n"), "the /metrics request itself is in flight")
        XCTAssertFalse(text.contains("/no/such/path"), "unmatched paths never become labels")
    }

    // MARK: - TLS

    func testHTTPS() throws {
        let directory = NSTemporaryDirectory() + "httpserver-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let made: (status: Int32, output: String)
        do {
            made = try runCommand("openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ])
        } catch {
            throw XCTSkip("openssl command not available")
        }
        guard made.status == 0 else { throw XCTSkip("openssl could not make a certificate") }
        let tls = HTTPServerConfiguration.TLS(
            certificatePEM: try String(contentsOfFile: directory + "/cert.pem", encoding: .utf8),
            keyPEM: try String(contentsOfFile: directory + "/key.pem", encoding: .utf8))

        let server = try start(Self.demoRouter()) { $0.tls = tls }
        XCTAssertTrue(server.url("/").hasPrefix("https://"))
        let verified = HTTPClient(configuration: HTTPClientConfiguration(caFile: directory + "/cert.pem"))
        for _ in 0..<3 {
            let response = try verified.send(HTTPRequest(url: server.url("/whoami")))
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(try JSONValue.parse(response.body)["secure"], true)
        }
        XCTAssertEqual(try verified.send(HTTPRequest(method: "POST", url: server.url("/echo"),
                                                     headers: [(name: "Content-Type", value: "application/json")],
                                                     body: Array("[1]".utf8))).body, Array("[1]".utf8))

        // Without the CA the certificate does not verify; plain HTTP gets no answer.
        XCTAssertThrowsError(try HTTPClient().send(HTTPRequest(url: server.url("/hello")))) { error in
            XCTAssertEqual((error as? HTTPClientError)?.code, .tlsFailure)
        }
        XCTAssertThrowsError(try client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/hello", timeout: .seconds(2))))

        // A key that does not belong to the certificate is refused at start.
        let otherKey = try runCommand("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        var mismatched = HTTPServerConfiguration(port: 0)
        mismatched.tls = .init(certificatePEM: tls.certificatePEM, keyPEM: otherKey.output)
        XCTAssertThrowsError(try HTTPServer(configuration: mismatched, responder: Router(), logger: .disabled).start()) { error in
            XCTAssertEqual((error as? HTTPServerError)?.code, .tlsFailure, "\(error)")
        }
        var garbage = HTTPServerConfiguration(port: 0)
        garbage.tls = .init(certificatePEM: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", keyPEM: tls.keyPEM)
        XCTAssertThrowsError(try HTTPServer(configuration: garbage, responder: Router(), logger: .disabled).start()) { error in
            XCTAssertEqual((error as? HTTPServerError)?.code, .tlsFailure, "\(error)")
        }
    }

    // MARK: - Lifecycle

    func testGracefulShutdown() throws {
        let server = try start(Self.demoRouter())
        let port = server.port
        let slowResult = Mutex<Result<HTTPResponse, any Error>?>(nil)
        let slow = Thread {
            let outcome = Result { try HTTPClient().send(HTTPRequest(url: "http://127.0.0.1:\(port)/slow")) }
            slowResult.withLock { $0 = outcome }
        }
        slow.start()
        XCTAssertTrue(eventually { server.server.requestsInFlight == 1 }, "the slow request is in progress")

        let shutdownDone = Mutex<Double?>(nil)
        let began = Date()
        let stopper = Thread {
            server.server.shutdown()
            shutdownDone.withLock { $0 = Date().timeIntervalSince(began) }
        }
        stopper.start()
        usleep(100_000)
        // While the slow request finishes, new connections are already refused.
        XCTAssertThrowsError(try RawConnection(port: port)) { error in
            XCTAssertEqual((error as? POSIXError)?.code, .ECONNREFUSED, "\(error)")
        }
        XCTAssertTrue(eventually(timeout: 5) { shutdownDone.withLock { $0 } != nil })
        let response = try XCTUnwrap(slowResult.withLock { $0 }).get()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.text, "finally")
        XCTAssertEqual(response.header("connection"), "close", "draining: no keep-alive")
        let took = try XCTUnwrap(shutdownDone.withLock { $0 })
        XCTAssertGreaterThan(took, 0.3, "shutdown waited for the request")
        XCTAssertLessThan(took, 3)

        XCTAssertThrowsError(try client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/hello"))) { error in
            XCTAssertEqual((error as? HTTPClientError)?.code, .connectionFailed)
        }
        server.server.shutdown()  // idempotent
        XCTAssertTrue(server.sink.lines.contains { $0.contains("HTTP server stopped") })
    }

    func testShutdownGraceIsBounded() throws {
        let server = try start(Self.demoRouter()) { $0.shutdownGracePeriod = 0.1 }
        // A request whose body never arrives: cut off after the grace period.
        let raw = try RawConnection(port: server.port)
        raw.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        XCTAssertTrue(eventually { server.server.requestsInFlight == 1 })
        let began = Date()
        server.stop()
        XCTAssertLessThan(Date().timeIntervalSince(began), 2)
        XCTAssertTrue(server.sink.lines.contains { $0.contains("requests still in progress were cut off") })
    }

    func testStartErrors() throws {
        let first = try start(Self.demoRouter())
        var taken = HTTPServerConfiguration(port: first.port)
        XCTAssertThrowsError(try HTTPServer(configuration: taken, responder: Router(), logger: .disabled).start()) { error in
            let serverError = error as? HTTPServerError
            XCTAssertEqual(serverError?.code, .addressInUse, "\(error)")
            XCTAssertTrue("\(error)".contains("127.0.0.1:\(first.port)"), "\(error)")
            XCTAssertTrue("\(error)".contains("already in use"), "\(error)")
        }
        taken.host = "not-an-address"
        XCTAssertThrowsError(try HTTPServer(configuration: taken, responder: Router(), logger: .disabled).start()) { error in
            XCTAssertEqual((error as? HTTPServerError)?.code, .addressUnavailable, "\(error)")
        }
        taken.host = "192.0.2.1"  // TEST-NET-1: not on this machine
        XCTAssertThrowsError(try HTTPServer(configuration: taken, responder: Router(), logger: .disabled).start()) { error in
            XCTAssertEqual((error as? HTTPServerError)?.code, .addressUnavailable, "\(error)")
        }
        XCTAssertThrowsError(try HTTPServer(configuration: .init(port: 70000), responder: Router(), logger: .disabled).start()) { error in
            XCTAssertEqual((error as? HTTPServerError)?.code, .invalidConfiguration)
            XCTAssertTrue("\(error)".contains("port"), "\(error)")
        }
        XCTAssertThrowsError(try first.server.start()) { error in
            XCTAssertEqual((error as? HTTPServerError)?.code, .alreadyStarted)
        }
    }

    func testIPv6Loopback() throws {
        var router = Router()
        router.get("/whoami") { request in .text(request.remoteAddress) }
        let server: TestHTTPServer
        do {
            server = try start(router) { $0.host = "::1" }
        } catch let error as HTTPServerError where error.code == .addressUnavailable {
            throw XCTSkip("no IPv6 loopback here: \(error)")
        }
        let response = try client.send(HTTPRequest(url: "http://[::1]:\(server.port)/whoami"))
        XCTAssertEqual(response.text, "::1")
        XCTAssertThrowsError(try client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/whoami", timeout: .seconds(2))),
                             "bound to ::1 only")
    }
}
