@testable import HTTPClient
import XCTest

/// Unit tests of the pieces that need no socket: header parsing, URL checks, redaction.
final class TransferStateTests: XCTestCase {
    private func feed(_ lines: [String], to state: TransferState) {
        for line in lines {
            Array(line.utf8).withUnsafeBytes { state.receiveHeaderLine($0) }
        }
    }

    func testOnlyTheFinalResponseHeadersAreKept() {
        let state = TransferState(maxBodyBytes: 10)
        feed([
            "HTTP/1.1 100 Continue\r\n", "X-Interim: 1\r\n", "\r\n",
            "HTTP/1.1 200 OK\r\n", "Content-Type:  text/plain \r\n", "X-Folded: a\r\n", "\t b\r\n",
            "NoColonLine\r\n", "Empty:\r\n", "\r\n",
            "X-Trailer: ignored\r\n",
        ], to: state)
        XCTAssertEqual(state.headers.map(\.name), ["Content-Type", "X-Folded", "Empty"])
        XCTAssertEqual(state.headers.map(\.value), ["text/plain", "a b", ""])
    }

    func testBodyLimit() {
        let state = TransferState(maxBodyBytes: 4)
        XCTAssertTrue([UInt8]([1, 2, 3]).withUnsafeBytes { state.receiveBody($0) })
        XCTAssertTrue([UInt8]([4]).withUnsafeBytes { state.receiveBody($0) })
        XCTAssertFalse([UInt8]([5]).withUnsafeBytes { state.receiveBody($0) })
        XCTAssertTrue(state.bodyLimitExceeded)
        XCTAssertEqual(state.body, [1, 2, 3, 4])
    }

    func testMilliseconds() {
        XCTAssertEqual(HTTPClient.milliseconds(.seconds(10)), 10_000)
        XCTAssertEqual(HTTPClient.milliseconds(.microseconds(1500)), 2)
        XCTAssertEqual(HTTPClient.milliseconds(.zero), 1)
        XCTAssertEqual(HTTPClient.milliseconds(.seconds(-5)), 1)
        XCTAssertEqual(HTTPClient.milliseconds(.seconds(Int64.max)), Int(Int32.max))
    }

    func testScheme() {
        XCTAssertEqual(RequestValidation.scheme(of: "HTTPS://x"), "https")
        XCTAssertEqual(RequestValidation.scheme(of: "svn+ssh://x"), "svn+ssh")
        XCTAssertNil(RequestValidation.scheme(of: "not a url"))
        XCTAssertNil(RequestValidation.scheme(of: "//host/path"))
        XCTAssertNil(RequestValidation.scheme(of: "1http://x"))
    }

    func testRedaction() {
        XCTAssertEqual(HTTPClientError.redacted("https://u:p@h:1/a/b?q=1#f"), "https://h:1/a/b?…")
        XCTAssertEqual(HTTPClientError.redacted("https://h/a@b"), "https://h/a@b")
        XCTAssertEqual(HTTPClientError.redacted("http://h/\r\nX"), "http://h/??X")
        XCTAssertEqual(HTTPClientError.redacted("not a url"), "not a url")
    }

    func testNormalizedURL() throws {
        XCTAssertEqual(try RequestValidation.normalizedURL("HTTP://Example.COM"), "http://Example.COM/")
        XCTAssertEqual(try RequestValidation.normalizedURL("https://h:8443/p?q=1"), "https://h:8443/p?q=1")
    }
}
