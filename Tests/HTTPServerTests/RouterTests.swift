@testable import HTTPServer
import IECJSON
import XCTest

/// The router and the request helpers, with no sockets.
final class RouterTests: XCTestCase {
    private func body(_ response: HTTPServerResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    private func makeRouter() -> Router {
        var router = Router()
        router.add("GET", "/oauth2/realms/root/realms/{realm}/access_token") { request in
            .text("param:\(request.pathParameters["realm"] ?? "-")")
        }
        router.add("POST", "/oauth2/realms/root/realms/{realm}/access_token") { request in
            .text("post:\(request.pathParameters["realm"] ?? "-")")
        }
        router.add("GET", "/oauth2/realms/root/realms/edge/access_token") { _ in .text("literal") }
        router.add("get", "/users/{id}/keys/{kid}") { request in
            .text("\(request.pathParameters["id"] ?? "-")/\(request.pathParameters["kid"] ?? "-")")
        }
        router.add("GET", "/static/{rest...}") { request in .text("rest:\(request.pathParameters["rest"] ?? "-")") }
        router.add("GET", "/") { _ in .text("root") }
        router.add("DELETE", "/users/{id}") { request in .text("deleted \(request.pathParameters["id"] ?? "-")") }
        router.add("OPTIONS", "/custom") { _ in .text("my options") }
        return router
    }

    private func send(_ router: Router, _ method: String, _ target: String) throws -> (HTTPServerResponse, HTTPServerRequest) {
        let request = HTTPServerRequest(method: method, target: target)
        return (try router.respond(to: request), request)
    }

    func testParametersLiteralsAndCatchAll() throws {
        let router = makeRouter()
        XCTAssertEqual(body(try send(router, "GET", "/oauth2/realms/root/realms/edge/access_token").0), "literal")
        XCTAssertEqual(body(try send(router, "GET", "/oauth2/realms/root/realms/other/access_token").0), "param:other")
        // Literal beats parameter only for the method it has: POST falls through to the parameter route.
        XCTAssertEqual(body(try send(router, "POST", "/oauth2/realms/root/realms/edge/access_token").0), "post:edge")
        XCTAssertEqual(body(try send(router, "GET", "/users/alice/keys/k1").0), "alice/k1")
        // Segments are decoded after splitting: %2F stays inside its segment.
        XCTAssertEqual(body(try send(router, "GET", "/users/a%2Fb/keys/c%20d").0), "a/b/c d")
        XCTAssertEqual(body(try send(router, "GET", "/static/css/site.css").0), "rest:css/site.css")
        XCTAssertEqual(body(try send(router, "GET", "/static/").0), "rest:")
        XCTAssertEqual(body(try send(router, "GET", "/").0), "root")
        XCTAssertEqual(body(try send(router, "GET", "/?x=1").0), "root")
        XCTAssertEqual(body(try send(router, "DELETE", "/users/bob").0), "deleted bob")
    }

    func testRouteLabelIsThePattern() throws {
        let router = makeRouter()
        XCTAssertEqual(try send(router, "GET", "/users/alice/keys/k1").1.route.value, "/users/{id}/keys/{kid}")
        XCTAssertEqual(try send(router, "GET", "/oauth2/realms/root/realms/edge/access_token").1.route.value,
                       "/oauth2/realms/root/realms/edge/access_token")
        XCTAssertNil(try send(router, "GET", "/nothing/here").1.route.value)
        // 405 is labelled with the path's pattern too: still a bounded set.
        XCTAssertEqual(try send(router, "PATCH", "/users/bob").1.route.value, "/users/{id}")
    }

    func testNotFoundMethodNotAllowedHeadAndOptions() throws {
        let router = makeRouter()
        let (missing, _) = try send(router, "GET", "/users")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.header("content-type"), "application/json")
        let error = try JSONValue.parse(missing.body)
        XCTAssertEqual(error["code"], 404)
        XCTAssertEqual(error["reason"], "Not Found")
        XCTAssertNotNil(error["message"]?.stringValue)

        XCTAssertEqual(try send(router, "GET", "/static").0.status, 404, "a catch-all needs its slash")
        XCTAssertEqual(try send(router, "GET", "/users/alice/keys/k1/").0.status, 404, "no trailing-slash folding")
        XCTAssertEqual(try send(router, "GET", "/users//keys/k1").0.status, 404, "a parameter is never empty")

        let (wrongMethod, _) = try send(router, "PUT", "/oauth2/realms/root/realms/edge/access_token")
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.header("Allow"), "GET, HEAD, OPTIONS, POST")
        XCTAssertEqual(try JSONValue.parse(wrongMethod.body)["code"], 405)

        let (head, _) = try send(router, "HEAD", "/users/alice/keys/k1")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(body(head), "alice/k1", "the GET handler answers; the server drops the body on the wire")

        let (options, _) = try send(router, "OPTIONS", "/users/bob")
        XCTAssertEqual(options.status, 204)
        XCTAssertEqual(options.header("allow"), "DELETE, OPTIONS")
        XCTAssertEqual(body(try send(router, "OPTIONS", "/custom").0), "my options")
        XCTAssertEqual(try send(router, "OPTIONS", "/nowhere").0.status, 404)
    }

    func testQueryParsing() {
        let request = HTTPServerRequest(target: "/search?q=a+b%2Bc&empty=&flag&q=second&%E2%9C%93=%zz#fragment")
        XCTAssertEqual(request.path, "/search")
        XCTAssertEqual(request.rawQuery, "q=a+b%2Bc&empty=&flag&q=second&%E2%9C%93=%zz")
        XCTAssertEqual(request.query["q"], "a b+c", "first value wins, + is a space, %2B a plus")
        XCTAssertEqual(request.query["empty"], "")
        XCTAssertEqual(request.query["flag"], "")
        XCTAssertEqual(request.query["✓"], "%zz", "a bad escape is kept as it is")
        XCTAssertEqual(request.queryParameterValues()["q"], ["a b+c", "second"])

        let plain = HTTPServerRequest(target: "/a%20b/c+d")
        XCTAssertEqual(plain.path, "/a b/c+d", "+ is not a space in a path")
        XCTAssertEqual(plain.rawQuery, "")
        XCTAssertTrue(plain.query.isEmpty)
        XCTAssertEqual(HTTPServerRequest(target: "http://example.com/x?y=1").path, "/x")
    }

    func testFormParameters() {
        let form = HTTPServerRequest(
            method: "POST", target: "/token",
            headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=UTF-8")],
            body: Array("grant_type=client_credentials&scope=a+b%20c&scope=again&x%3Dy=%26&&novalue".utf8))
        let first = form.formParameters()
        XCTAssertEqual(first?["grant_type"], "client_credentials")
        XCTAssertEqual(first?["scope"], "a b c")
        XCTAssertEqual(first?["x=y"], "&")
        XCTAssertEqual(first?["novalue"], "")
        XCTAssertEqual(form.formParameterValues()?["scope"], ["a b c", "again"])
        XCTAssertEqual(form.formParameterValues()?["grant_type"], ["client_credentials"])

        let json = HTTPServerRequest(method: "POST", target: "/token",
                                     headers: [(name: "content-type", value: "application/json")], body: Array("a=b".utf8))
        XCTAssertNil(json.formParameters())
        XCTAssertNil(json.formParameterValues())
        XCTAssertNil(HTTPServerRequest(method: "POST", target: "/", body: Array("a=b".utf8)).formParameters())
    }

    func testHeadersAndCookies() {
        let request = HTTPServerRequest(target: "/", headers: [
            (name: "X-Thing", value: "1"), (name: "x-thing", value: "2"),
            (name: "Cookie", value: "iPlanetDirectoryPro=abc.def; theme=\"dark\"; iPlanetDirectoryPro=second; junk"),
        ])
        XCTAssertEqual(request.headers.first?.name, "x-thing", "names are lower-cased")
        XCTAssertEqual(request.header("X-THING"), "1")
        XCTAssertNil(request.header("missing"))
        XCTAssertEqual(request.cookies, ["iPlanetDirectoryPro": "abc.def", "theme": "dark"])
    }

    func testJSONBody() throws {
        func request(_ contentType: String?, _ body: String) -> HTTPServerRequest {
            HTTPServerRequest(method: "POST", target: "/", headers: contentType.map { [(name: "Content-Type", value: $0)] } ?? [],
                              body: Array(body.utf8))
        }
        XCTAssertEqual(try request("application/json", #"{"a":[1,2]}"#).jsonBody(), ["a": [1, 2]])
        XCTAssertEqual(try request("Application/JSON; charset=utf-8", "true").jsonBody(), true)
        func status(_ request: HTTPServerRequest) -> Int? {
            do {
                _ = try request.jsonBody()
                return nil
            } catch let error as HTTPError {
                XCTAssertFalse(error.message.isEmpty)
                return error.status
            } catch {
                return -1
            }
        }
        XCTAssertEqual(status(request(nil, "{}")), 415)
        XCTAssertEqual(status(request("text/plain", "{}")), 415)
        XCTAssertEqual(status(request("application/json; charset=latin1", "{}")), 415)
        XCTAssertEqual(status(request("application/json", "")), 400)
        XCTAssertEqual(status(request("application/json", "{\"a\":1,}")), 400)
        XCTAssertEqual(status(request("application/json", "{\"a\":1,\"a\":2}")), 400)
    }

    func testResponseHelpers() throws {
        let json = HTTPServerResponse.json(["b": 1, "a": "x"], status: 201, headers: [(name: "Cache-Control", value: "max-age=60")])
        XCTAssertEqual(json.status, 201)
        XCTAssertEqual(String(decoding: json.body, as: UTF8.self), #"{"a":"x","b":1}"#)
        XCTAssertEqual(json.header("content-type"), "application/json")
        XCTAssertEqual(json.headers.filter { $0.name.lowercased() == "cache-control" }.map(\.value), ["max-age=60"])
        XCTAssertEqual(HTTPServerResponse.json(.null).header("Cache-Control"), "no-store")
        XCTAssertEqual(HTTPServerResponse.html("<p>").header("Content-Type"), "text/html; charset=utf-8")
        let redirect = HTTPServerResponse.redirect(to: "/next", status: 303)
        XCTAssertEqual(redirect.status, 303)
        XCTAssertEqual(redirect.header("location"), "/next")
        var response = HTTPServerResponse.text("x")
        response.setHeader("content-type", "text/csv")
        XCTAssertEqual(response.headers.map(\.value), ["text/csv"])

        let error = HTTPError(status: 401, message: "bad client", headers: [(name: "WWW-Authenticate", value: "Basic")]).response
        XCTAssertEqual(error.status, 401)
        XCTAssertEqual(error.header("www-authenticate"), "Basic")
        XCTAssertEqual(try JSONValue.parse(error.body), ["code": 401, "reason": "Unauthorized", "message": "bad client"])
    }

    func testRequestIDSanity() {
        XCTAssertTrue(RequestIDGenerator.isAcceptable("abc-123_X.y"))
        XCTAssertTrue(RequestIDGenerator.isAcceptable(String(repeating: "a", count: 64)))
        XCTAssertFalse(RequestIDGenerator.isAcceptable(String(repeating: "a", count: 65)))
        XCTAssertFalse(RequestIDGenerator.isAcceptable(""))
        XCTAssertFalse(RequestIDGenerator.isAcceptable("a b"))
        XCTAssertFalse(RequestIDGenerator.isAcceptable("a\"b"))
        let generator = RequestIDGenerator()
        let ids = (0..<1000).map { _ in generator.next() }
        XCTAssertEqual(Set(ids).count, 1000)
        XCTAssertTrue(ids.allSatisfy { $0.count == 16 && $0.allSatisfy(\.isHexDigit) })
    }

    func testLogSafeAndMilliseconds() {
        XCTAssertEqual(logSafe("/a/b"), "/a/b")
        XCTAssertEqual(logSafe("/a b\n\"x\"=1"), "/a%20b%0A%22x%22%3D1")
        XCTAssertEqual(formatMilliseconds(0.0001234), "0.123")
        XCTAssertEqual(formatMilliseconds(1.5), "1500.000")
    }

    func testMetricsRendering() {
        let metrics = HTTPMetrics()
        metrics.record(route: "/a/{id}", method: "GET", status: 200, seconds: 0.0004)
        metrics.record(route: "/a/{id}", method: "GET", status: 200, seconds: 0.003)
        metrics.record(route: "/a/{id}", method: "BREW", status: 405, seconds: 20)
        metrics.record(route: "weird\"\\\nlabel", method: "GET", status: 500, seconds: 0.1)
        let text = metrics.renderPrometheus()
        XCTAssertTrue(text.contains(#"iec_http_requests_total{route="/a/{id}",method="GET",status="200"} 2"#), text)
        XCTAssertTrue(text.contains(#"iec_http_requests_total{route="/a/{id}",method="OTHER",status="405"} 1"#), text)
        XCTAssertTrue(text.contains(#"iec_http_request_duration_seconds_bucket{route="/a/{id}",le="0.0005"} 1"#), text)
        XCTAssertTrue(text.contains(#"iec_http_request_duration_seconds_bucket{route="/a/{id}",le="0.005"} 2"#), text)
        XCTAssertTrue(text.contains(#"iec_http_request_duration_seconds_bucket{route="/a/{id}",le="10"} 2"#), text)
        XCTAssertTrue(text.contains(#"iec_http_request_duration_seconds_bucket{route="/a/{id}",le="+Inf"} 3"#), text)
        XCTAssertTrue(text.contains(#"iec_http_request_duration_seconds_count{route="/a/{id}"} 3"#), text)
        XCTAssertTrue(text.contains(#"route="weird\"\\\nlabel""#), text)
        XCTAssertTrue(text.contains("# TYPE iec_http_request_duration_seconds histogram\n"))
        XCTAssertTrue(text.hasSuffix("iec_http_requests_in_flight 0\n"), text)
    }
}
