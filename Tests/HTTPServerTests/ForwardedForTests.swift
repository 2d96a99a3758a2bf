import XCTest

@testable import HTTPServer

final class ForwardedForTests: XCTestCase {
    private let proxies: Set<String> = ["127.0.0.1", "10.0.0.2"]

    private func client(_ peer: String, _ values: [String]) -> String {
        ForwardedFor.clientAddress(peer: peer, headers: values.map { (name: "X-Forwarded-For", value: $0) }, trustedProxies: proxies)
    }

    func testAPeerThatIsNoTrustedProxyIsTheClientWhateverTheHeaderSays() {
        XCTAssertEqual(client("192.0.2.7", ["198.51.100.1"]), "192.0.2.7")
        XCTAssertEqual(
            ForwardedFor.clientAddress(peer: "127.0.0.1", headers: [(name: "X-Forwarded-For", value: "198.51.100.1")], trustedProxies: []),
            "127.0.0.1", "no trusted proxies configured: the header is ignored")
    }

    func testTheRightmostUntrustedHopIsTheClient() {
        XCTAssertEqual(client("127.0.0.1", ["198.51.100.1"]), "198.51.100.1")
        // A client wrote the leftmost value itself; nginx appended the real one.
        XCTAssertEqual(client("127.0.0.1", ["6.6.6.6, 198.51.100.1"]), "198.51.100.1")
        XCTAssertEqual(client("127.0.0.1", ["6.6.6.6, 198.51.100.1, 10.0.0.2"]), "198.51.100.1", "two trusted hops")
        XCTAssertEqual(client("127.0.0.1", ["6.6.6.6", "2001:db8::1"]), "2001:db8::1", "several header fields")
    }

    func testGarbageStopsTheWalkAtTheLastBelievedHop() {
        XCTAssertEqual(client("127.0.0.1", ["not-an-address"]), "127.0.0.1")
        XCTAssertEqual(client("127.0.0.1", ["198.51.100.1, <script>, 10.0.0.2"]), "10.0.0.2")
        XCTAssertEqual(client("127.0.0.1", [""]), "127.0.0.1")
        XCTAssertEqual(client("127.0.0.1", []), "127.0.0.1", "no header: the proxy itself")
        XCTAssertEqual(client("127.0.0.1", [String(repeating: "1", count: 60)]), "127.0.0.1", "too long for an address")
    }

    func testOnlyTheLastHopsAreLookedAt() {
        let many = Array(repeating: "10.0.0.2", count: 40).joined(separator: ",")
        XCTAssertEqual(client("127.0.0.1", ["198.51.100.1," + many]), "10.0.0.2", "the walk ends after \(ForwardedFor.maximumHops) hops")
    }
}
