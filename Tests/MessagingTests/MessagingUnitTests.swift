import IECCrypto
import IECLog
import XCTest

@testable import Messaging

/// The protocol logic with no sockets: ZAP decisions, envelopes, monitor events, log throttling.
final class ZAPAuthenticatorTests: XCTestCase {
    private let allowed = CurveKeyPair()
    private let stranger = CurveKeyPair()

    private func request(address: String = "127.0.0.1", key: [UInt8], mechanism: String = "CURVE") -> [[UInt8]] {
        [Array("1.0".utf8), Array("7".utf8), Array("iec".utf8), Array(address.utf8), [0, 1, 2, 3, 4], Array(mechanism.utf8), key]
    }

    private func status(_ outcome: ZAPAuthenticator.Outcome) -> String { String(decoding: outcome.reply[2], as: UTF8.self) }

    func testAllowedKeyGets200AndItsZ85KeyAsUserID() {
        let zap = ZAPAuthenticator(allowedClientKeys: [allowed.publicKey], whitelist: ["127.0.0.1"])
        let outcome = zap.handle(request(key: allowed.publicKey))
        XCTAssertEqual(outcome.reply.count, 6, "version, request id, status, text, user id, metadata")
        XCTAssertEqual(outcome.reply[0], Array("1.0".utf8))
        XCTAssertEqual(outcome.reply[1], Array("7".utf8), "the request id is echoed")
        XCTAssertEqual(status(outcome), "200")
        XCTAssertEqual(String(decoding: outcome.reply[4], as: UTF8.self), allowed.publicKeyZ85)
        XCTAssertEqual(outcome.reply[5], [])
        XCTAssertEqual(outcome.verdict, .allowed(address: "127.0.0.1", keyPrefix: String(allowed.publicKeyZ85.prefix(8))))
    }

    func testUnknownKeyGets400WithAShortKeyPrefixOnly() {
        let zap = ZAPAuthenticator(allowedClientKeys: [allowed.publicKey], whitelist: [])
        let outcome = zap.handle(request(address: "10.1.2.3", key: stranger.publicKey))
        XCTAssertEqual(status(outcome), "400")
        XCTAssertEqual(outcome.reply[4], [], "no user id for a refused client")
        guard case .refused(let refusal) = outcome.verdict else { return XCTFail("\(outcome.verdict)") }
        XCTAssertEqual(refusal.reason, "client key not on the list")
        XCTAssertEqual(refusal.address, "10.1.2.3")
        XCTAssertEqual(refusal.keyPrefix, String(stranger.publicKeyZ85.prefix(8)))
        XCTAssertEqual(refusal.keyPrefix.count, 8)
    }

    func testEmptyKeyListRefusesEveryone() {
        let zap = ZAPAuthenticator(allowedClientKeys: [], whitelist: [])
        let outcome = zap.handle(request(key: allowed.publicKey))
        XCTAssertEqual(status(outcome), "400")
        guard case .refused(let refusal) = outcome.verdict else { return XCTFail("\(outcome.verdict)") }
        XCTAssertEqual(refusal.reason, "no client keys are configured")
    }

    func testWhitelistIsCheckedFirstAndExactly() {
        let zap = ZAPAuthenticator(allowedClientKeys: [allowed.publicKey], whitelist: ["127.0.0.2", "::1"])
        for address in ["127.0.0.1", "127.0.0.20", "10.0.0.1", "::2"] {
            let outcome = zap.handle(request(address: address, key: allowed.publicKey))
            XCTAssertEqual(status(outcome), "400", address)
            guard case .refused(let refusal) = outcome.verdict else { return XCTFail(address) }
            XCTAssertEqual(refusal.reason, "address not on the whitelist")
        }
        for address in ["127.0.0.2", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.2"] {
            XCTAssertEqual(status(zap.handle(request(address: address, key: allowed.publicKey))), "200", address)
        }
        // A whitelisted address with a key not on the list is still refused.
        XCTAssertEqual(status(zap.handle(request(address: "127.0.0.2", key: stranger.publicKey))), "400")
    }

    func testEmptyWhitelistAllowsAnyAddress() {
        let zap = ZAPAuthenticator(allowedClientKeys: [allowed.publicKey], whitelist: [])
        XCTAssertEqual(status(zap.handle(request(address: "192.0.2.9", key: allowed.publicKey))), "200")
    }

    func testOtherMechanismsAndBadCredentialsAreRefused() {
        let zap = ZAPAuthenticator(allowedClientKeys: [allowed.publicKey], whitelist: [])
        XCTAssertEqual(status(zap.handle(request(key: Array("admin".utf8), mechanism: "PLAIN"))), "400")
        XCTAssertEqual(status(zap.handle(request(key: Array(allowed.publicKey.prefix(31))))), "400")
        var twoCredentials = request(key: allowed.publicKey)
        twoCredentials.append(allowed.publicKey)
        XCTAssertEqual(status(zap.handle(twoCredentials)), "400")
    }

    func testMalformedRequestsGet500() {
        let zap = ZAPAuthenticator(allowedClientKeys: [allowed.publicKey], whitelist: [])
        for frames in [[], [Array("1.0".utf8)], [Array("2.0".utf8), [1], [], [], [], Array("CURVE".utf8), allowed.publicKey]] {
            let outcome = zap.handle(frames)
            XCTAssertEqual(outcome.reply.count, 6)
            XCTAssertEqual(status(outcome), "500")
            guard case .malformed = outcome.verdict else { return XCTFail("\(frames)") }
        }
    }
}

final class RouterEnvelopeTests: XCTestCase {
    func testTheTwoAcceptedShapes() {
        XCTAssertEqual(
            RouterEnvelope.parse([[1, 2], [], Array("{}".utf8)], frameCount: 3),
            .request(routingID: [1, 2], delimited: true, payload: Array("{}".utf8)))
        XCTAssertEqual(
            RouterEnvelope.parse([[1, 2], Array("{}".utf8)], frameCount: 2),
            .request(routingID: [1, 2], delimited: false, payload: Array("{}".utf8)))
    }

    func testEverythingElseIsMalformed() {
        let cases: [([[UInt8]], Int)] = [
            ([[1]], 1),
            ([[1], []], 2),
            ([[1], [], []], 3),
            ([[1], [7], [8]], 3),
            ([[1], [], [8]], 4),
            ([[1], [], [8]], 1000),
        ]
        for (frames, count) in cases {
            guard case .malformed = RouterEnvelope.parse(frames, frameCount: count) else {
                return XCTFail("\(frames) (\(count) frames) was accepted")
            }
        }
    }

    func testPeerIDEqualityIgnoresTheEnvelope() {
        XCTAssertEqual(PeerID(routingID: [0, 1], delimited: true), PeerID(routingID: [0, 1], delimited: false))
        XCTAssertNotEqual(PeerID(routingID: [0, 1], delimited: true), PeerID(routingID: [0, 2], delimited: true))
        XCTAssertEqual(PeerID(routingID: [0, 0xab], delimited: true).description, "00ab")
    }
}

final class MonitorLogTests: XCTestCase {
    private func event(_ kind: Int32, _ value: UInt32) -> MonitorEvent {
        MonitorEvent(event: kind, value: value, endpoint: "tcp://127.0.0.1:5556")
    }

    private let cryptographic = UInt32(0x1100_0001)

    func testAFailureIsAttributedToThePeerOfTheFollowingDisconnect() {
        var log = MonitorLog()
        XCTAssertEqual(log.handle(event(0x0020, 17), peerAddress: "10.0.0.7"), [.accepted(peer: "10.0.0.7")])
        XCTAssertEqual(log.handle(event(0x0020, 18), peerAddress: "10.0.0.8"), [.accepted(peer: "10.0.0.8")])
        XCTAssertEqual(log.handle(event(0x2000, cryptographic)), [], "held until the disconnect names the peer")
        XCTAssertTrue(log.hasPending)
        let reports = log.handle(event(0x0200, 18))
        XCTAssertEqual(reports.count, 1)
        guard case .handshakeFailed(let reason, let peer, let endpoint, let authentication) = reports.first else {
            return XCTFail("\(reports)")
        }
        XCTAssertTrue(reason.contains("wrong server public key"), reason)
        XCTAssertEqual(peer, "10.0.0.8")
        XCTAssertEqual(endpoint, "tcp://127.0.0.1:5556")
        XCTAssertFalse(authentication)
        XCTAssertFalse(log.hasPending)
        XCTAssertEqual(log.handle(event(0x0200, 17)), [.disconnected(peer: "10.0.0.7")])
    }

    func testAHeldFailureIsReportedWithoutPeerWhenSomethingElseComes() {
        var log = MonitorLog()
        _ = log.handle(event(0x2000, cryptographic))
        let reports = log.handle(event(0x0020, 3), peerAddress: "10.0.0.9")
        XCTAssertEqual(reports.count, 2)
        guard case .handshakeFailed(_, nil, _, false) = reports[0] else { return XCTFail("\(reports)") }
        XCTAssertEqual(reports[1], .accepted(peer: "10.0.0.9"))

        _ = log.handle(event(0x0800, UInt32(ECONNRESET)))
        XCTAssertEqual(log.flush().count, 1)
        XCTAssertEqual(log.flush(), [])
    }

    func testReasons() {
        XCTAssertTrue(MonitorLog.reason(event(0x2000, 0x1100_0002)).contains("does not use CURVE"))
        XCTAssertEqual(MonitorLog.reason(event(0x4000, 400)), "refused by the ZAP handler (status 400)")
        XCTAssertTrue(MonitorLog.reason(event(0x2000, 0x1000_0011)).contains("0x10000011"))
        var log = MonitorLog()
        _ = log.handle(event(0x4000, 400))
        guard case .handshakeFailed(_, _, _, true) = log.flush().first else { return XCTFail("ZAP refusals are marked") }
    }
}

final class LogThrottleTests: XCTestCase {
    func testRepeatsWithinTheWindowAreCountedNotLogged() {
        var throttle = LogThrottle(window: .seconds(60))
        let start = ContinuousClock.now
        XCTAssertEqual(throttle.admit("a", now: start), .log(suppressed: 0))
        XCTAssertEqual(throttle.admit("a", now: start + .seconds(1)), .suppress)
        XCTAssertEqual(throttle.admit("a", now: start + .seconds(59)), .suppress)
        XCTAssertEqual(throttle.admit("b", now: start + .seconds(59)), .log(suppressed: 0), "keys are independent")
        XCTAssertEqual(throttle.admit("a", now: start + .seconds(61)), .log(suppressed: 2))
        XCTAssertEqual(throttle.admit("a", now: start + .seconds(62)), .suppress)
    }

    func testCapacityIsBounded() {
        var throttle = LogThrottle(window: .seconds(60), capacity: 4)
        let now = ContinuousClock.now
        for index in 0..<100 { XCTAssertEqual(throttle.admit("key\(index)", now: now), .log(suppressed: 0)) }
    }
}

final class ConfigurationTests: XCTestCase {
    private func configuration() -> MessagingServerConfiguration {
        MessagingServerConfiguration(
            endpoint: "tcp://127.0.0.1:*", serverKeys: CurveKeyPair(), clientPublicKeys: [CurveKeyPair().publicKeyZ85],
            whitelist: ["127.0.0.1"])
    }

    private func assertInvalid(_ configuration: MessagingServerConfiguration, mentions words: String, line: UInt = #line) {
        XCTAssertThrowsError(try MessagingServer(configuration: configuration, logger: .disabled), line: line) { error in
            guard let error = error as? MessagingError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(error.code, .invalidConfiguration, line: line)
            XCTAssertTrue(error.message.contains(words), "\(error.message)", line: line)
        }
    }

    func testEachBadMemberIsNamed() {
        var bad = configuration()
        bad.clientPublicKeys.append("not a key")
        assertInvalid(bad, mentions: "clientPublicKeys[1]")
        bad = configuration()
        bad.whitelist = ["127.0.0.1", "localhost"]
        assertInvalid(bad, mentions: "whitelist[1] \"localhost\"")
        bad = configuration()
        bad.maxMessageBytes = 0
        assertInvalid(bad, mentions: "maxMessageBytes")
        bad = configuration()
        bad.endpoint = ""
        assertInvalid(bad, mentions: "endpoint")
    }

    func testDescriptionHidesTheSecretKey() {
        let configuration = configuration()
        XCTAssertFalse(configuration.description.contains(configuration.serverKeys.secretKeyZ85))
        XCTAssertTrue(configuration.description.contains(configuration.serverKeys.publicKeyZ85))
    }

    func testIPNormalisation() {
        XCTAssertEqual(IPAddress.normalized("127.0.0.1"), "127.0.0.1")
        XCTAssertEqual(IPAddress.normalized("::ffff:10.0.0.1"), "10.0.0.1")
        XCTAssertEqual(IPAddress.normalized("0:0::1"), "::1")
        XCTAssertNil(IPAddress.normalized("localhost"))
        XCTAssertNil(IPAddress.normalized("127.0.0.1 "))
    }

    func testMillisecondsRoundUp() {
        XCTAssertEqual(ZMQ.milliseconds(.zero), 0)
        XCTAssertEqual(ZMQ.milliseconds(.microseconds(1)), 1)
        XCTAssertEqual(ZMQ.milliseconds(.milliseconds(1500)), 1500)
        XCTAssertEqual(ZMQ.milliseconds(.seconds(-1)), 0)
    }
}
