import IECJSON
import JOSE
import XCTest

final class ClaimsTests: XCTestCase {
    let now: NumericDate = 1_800_000_000

    func kind(_ policy: JWTValidationPolicy, _ claims: JWTClaims) -> JOSEError.Kind? {
        do {
            try policy.validate(claims, now: now)
            return nil
        } catch let error as JOSEError {
            return error.kind
        } catch {
            return .malformed
        }
    }

    func testTimesWithLeeway() {
        let policy = JWTValidationPolicy(leeway: 30)
        XCTAssertNil(kind(policy, JWTClaims(["exp": .int(Int64(now) + 10)])))
        XCTAssertNil(kind(policy, JWTClaims(["exp": .int(Int64(now) - 29)])), "inside the leeway")
        XCTAssertEqual(kind(policy, JWTClaims(["exp": .int(Int64(now) - 30)])), .expired)
        XCTAssertEqual(kind(policy, JWTClaims(["exp": .double(now - 100.5)])), .expired)
        XCTAssertEqual(kind(policy, JWTClaims([:])), .missingClaim, "exp is required by default")
        XCTAssertNil(kind(JWTValidationPolicy(requireExpiration: false), JWTClaims([:])))

        XCTAssertNil(kind(policy, JWTClaims(["exp": .int(Int64(now) + 100), "nbf": .int(Int64(now) + 29)])))
        XCTAssertEqual(kind(policy, JWTClaims(["exp": .int(Int64(now) + 100), "nbf": .int(Int64(now) + 31)])), .notYetValid)
        XCTAssertEqual(kind(policy, JWTClaims(["exp": .int(Int64(now) + 100), "iat": .int(Int64(now) + 31)])), .issuedInFuture)
        XCTAssertNil(kind(policy, JWTClaims(["exp": .int(Int64(now) + 100), "iat": .int(Int64(now) + 29)])))

        var aged = JWTValidationPolicy(leeway: 0, requireIssuedAt: true, maxAge: 60)
        XCTAssertEqual(kind(aged, JWTClaims(["exp": .int(Int64(now) + 100)])), .missingClaim)
        XCTAssertEqual(kind(aged, JWTClaims(["exp": .int(Int64(now) + 100), "iat": .int(Int64(now) - 61)])), .tooOld)
        aged.maxAge = nil
        aged.maxLifetime = 120
        XCTAssertEqual(kind(aged, JWTClaims(["exp": .int(Int64(now) + 200), "iat": .int(Int64(now))])), .tooOld)
        XCTAssertNil(kind(aged, JWTClaims(["exp": .int(Int64(now) + 120), "iat": .int(Int64(now))])))
    }

    func testIssuerAudienceSubjectNonce() {
        let base: [String: JSONValue] = ["exp": .int(Int64(now) + 60), "iss": "edge-device", "sub": "gw", "nonce": "n-1"]
        let policy = JWTValidationPolicy(issuer: "edge-device", audience: "am.iec.com", subject: "gw", nonce: "n-1")
        var claims = JWTClaims(base)
        claims.setAudience(["am.iec.com"])
        XCTAssertNil(kind(policy, claims))
        XCTAssertEqual(claims["aud"], "am.iec.com", "one audience is written as a string")
        claims.setAudience(["other", "am.iec.com"])
        XCTAssertNil(kind(policy, claims), "aud as an array containing ours")
        claims.setAudience(["other"])
        XCTAssertEqual(kind(policy, claims), .invalidClaim)
        claims["aud"] = nil
        XCTAssertEqual(kind(policy, claims), .missingClaim)
        claims.setAudience(["am.iec.com"])
        claims.issuer = "evil"
        XCTAssertEqual(kind(policy, claims), .invalidClaim)
        claims.issuer = "edge-device"
        claims.subject = "gw2"
        XCTAssertEqual(kind(policy, claims), .invalidClaim)
        claims.subject = "gw"
        claims.nonce = "n-2"
        XCTAssertEqual(kind(policy, claims), .invalidClaim)
        claims.nonce = nil
        XCTAssertEqual(kind(policy, claims), .missingClaim)
    }

    func testJWTIDIsSingleUse() {
        let replay = InMemoryReplayGuard()
        let policy = JWTValidationPolicy(replayGuard: replay)
        let claims = JWTClaims(["exp": .int(Int64(now) + 60), "jti": "assertion-1"])
        XCTAssertNil(kind(policy, claims))
        XCTAssertEqual(kind(policy, claims), .replayed)
        XCTAssertNil(kind(policy, JWTClaims(["exp": .int(Int64(now) + 60), "jti": "assertion-2"])))
        XCTAssertEqual(kind(policy, JWTClaims(["exp": .int(Int64(now) + 60)])), .missingClaim)
        XCTAssertEqual(kind(JWTValidationPolicy(requireJWTID: true), JWTClaims(["exp": .int(Int64(now) + 60)])), .missingClaim)
        // Once the token has expired (and past the leeway), the id may be forgotten.
        XCTAssertTrue(replay.consume("assertion-1", expiresAt: now + 1, now: now + 1000))
    }

    func testReplayGuardIsBounded() {
        let replay = InMemoryReplayGuard(capacity: 2)
        XCTAssertTrue(replay.consume("a", expiresAt: now + 10, now: now))
        XCTAssertTrue(replay.consume("b", expiresAt: now + 10, now: now))
        XCTAssertFalse(replay.consume("c", expiresAt: now + 10, now: now), "full of live ids: refuse rather than forget")
        XCTAssertTrue(replay.consume("c", expiresAt: now + 30, now: now + 20), "expired ids make room")
    }

    func testVerifyJWTWithClock() throws {
        let secret = Array("0123456789abcdef0123456789abcdef".utf8)
        let token = try JWS.sign(claims: JWTClaims(["iss": "edge-device", "exp": .int(Int64(now) + 60)]), key: .hs256(secret, keyID: nil))
        let policy = JWTValidationPolicy(issuer: "edge-device")
        XCTAssertNoThrow(try verifyJWT(token, keys: .hs256(secret), policy: policy, clock: FixedClock(now)))
        XCTAssertThrowsError(try verifyJWT(token, keys: .hs256(secret), policy: policy, clock: FixedClock(now + 3600))) {
            XCTAssertEqual(($0 as? JOSEError)?.kind, .expired)
        }
        XCTAssertGreaterThan(SystemClock().now, 1_700_000_000)
    }
}
